ALTER TABLE tasks DROP CONSTRAINT tasks_priority_scale_set;
ALTER TABLE tasks DROP CONSTRAINT tasks_priority_range;
