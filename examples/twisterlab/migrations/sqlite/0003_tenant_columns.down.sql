DROP INDEX ix_task_tenant;
DROP INDEX ix_agent_tenant;
ALTER TABLE tasks DROP COLUMN tenant_id;
ALTER TABLE agents DROP COLUMN tenant_id;
