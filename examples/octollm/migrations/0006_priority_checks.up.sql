-- The new rules, NOT VALID: a moment's lock, no scan. Existing rows are
-- checked by the next migration, in a transaction of its own.
ALTER TABLE tasks ADD CONSTRAINT tasks_priority_range CHECK (priority BETWEEN 1 AND 10) NOT VALID;
ALTER TABLE tasks ADD CONSTRAINT tasks_priority_scale_set CHECK (priority_scale IS NOT NULL) NOT VALID;
