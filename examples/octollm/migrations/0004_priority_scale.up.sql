-- 1.0.0 rescales priorities from 1-5 to 1-10. The 1-5 check goes, and a
-- nullable column records which scale a row is on: adding a nullable column
-- without a default takes a moment's lock and rewrites nothing.
ALTER TABLE tasks DROP CONSTRAINT tasks_priority_check;
ALTER TABLE tasks ADD COLUMN priority_scale SMALLINT;
