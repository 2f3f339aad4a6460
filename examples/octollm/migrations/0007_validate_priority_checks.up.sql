-- VALIDATE CONSTRAINT scans the table under a SHARE UPDATE EXCLUSIVE lock:
-- reads and writes go on meanwhile. (In the same transaction as the ADD
-- above, the ADD's exclusive lock would be held through the scan.)
ALTER TABLE tasks VALIDATE CONSTRAINT tasks_priority_range;
ALTER TABLE tasks VALIDATE CONSTRAINT tasks_priority_scale_set;
