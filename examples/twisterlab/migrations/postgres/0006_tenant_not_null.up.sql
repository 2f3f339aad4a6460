-- ferry:no-transaction
-- NOT NULL the safe way: a NOT VALID check is added at once, validated
-- without blocking writes, then SET NOT NULL uses it instead of scanning the
-- table under an exclusive lock (PostgreSQL 12 and later); each statement
-- commits on its own so that no lock is held across them.
ALTER TABLE agents ADD CONSTRAINT agents_tenant_id_not_null CHECK (tenant_id IS NOT NULL) NOT VALID;
ALTER TABLE agents VALIDATE CONSTRAINT agents_tenant_id_not_null;
ALTER TABLE agents ALTER COLUMN tenant_id SET NOT NULL;
ALTER TABLE agents DROP CONSTRAINT agents_tenant_id_not_null;
ALTER TABLE tasks ADD CONSTRAINT tasks_tenant_id_not_null CHECK (tenant_id IS NOT NULL) NOT VALID;
ALTER TABLE tasks VALIDATE CONSTRAINT tasks_tenant_id_not_null;
ALTER TABLE tasks ALTER COLUMN tenant_id SET NOT NULL;
ALTER TABLE tasks DROP CONSTRAINT tasks_tenant_id_not_null;
