-- ferry:phase post-deploy
-- Once 1.0.0 runs (it writes priority_scale on every new task): NOT NULL.
-- PostgreSQL 12+ sees the validated CHECK (priority_scale IS NOT NULL) and
-- skips the full-table scan, so its exclusive lock lasts a moment; the
-- CHECK is then redundant.
ALTER TABLE tasks ALTER COLUMN priority_scale SET NOT NULL;
ALTER TABLE tasks DROP CONSTRAINT tasks_priority_scale_set;
