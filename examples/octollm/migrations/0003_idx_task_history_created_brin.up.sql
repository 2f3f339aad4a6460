-- ferry:no-transaction
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_task_history_created_brin
  ON task_history USING brin (created_at);
