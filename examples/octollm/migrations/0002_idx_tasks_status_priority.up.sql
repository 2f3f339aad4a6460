-- ferry:no-transaction
-- Built without blocking writes. If it fails (a deadlock, a cancel), it
-- leaves an INVALID index behind: ferry names it and `ferry db repair`
-- drops it.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_tasks_status_priority
  ON tasks (status, priority DESC);
