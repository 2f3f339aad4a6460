-- ferry:no-transaction
DROP INDEX CONCURRENTLY IF EXISTS idx_tasks_status_priority;
