DROP TABLE task_history;
DROP TABLE tasks;
