-- 2.0.0, multi-tenant: tenant_id on every table, nullable until the
-- backfills below have filled it.
ALTER TABLE agents ADD COLUMN tenant_id VARCHAR(50);
ALTER TABLE tasks ADD COLUMN tenant_id VARCHAR(50);
CREATE INDEX ix_agent_tenant ON agents (tenant_id);
CREATE INDEX ix_task_tenant ON tasks (tenant_id);
