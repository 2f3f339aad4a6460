ALTER TABLE tasks DROP COLUMN priority_scale;
ALTER TABLE tasks ADD CONSTRAINT tasks_priority_check CHECK (priority BETWEEN 1 AND 5);
