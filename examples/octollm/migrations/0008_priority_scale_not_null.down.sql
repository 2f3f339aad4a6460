ALTER TABLE tasks ADD CONSTRAINT tasks_priority_scale_set CHECK (priority_scale IS NOT NULL) NOT VALID;
ALTER TABLE tasks ALTER COLUMN priority_scale DROP NOT NULL;
