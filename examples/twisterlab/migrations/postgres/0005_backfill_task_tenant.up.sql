-- ferry:batch table=tasks key=id size=2000
-- Each task takes its agent's tenant, a batch at a time.
UPDATE tasks SET tenant_id = (SELECT a.tenant_id FROM agents a WHERE a.id = tasks.agent_id) WHERE id BETWEEN :first AND :last AND tenant_id IS NULL;
