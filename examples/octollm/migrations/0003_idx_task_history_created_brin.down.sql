-- ferry:no-transaction
DROP INDEX CONCURRENTLY IF EXISTS idx_task_history_created_brin;
