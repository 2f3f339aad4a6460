-- ferry:batch table=agents key=id size=500
-- Existing agents belong to the default tenant, a batch at a time.
UPDATE agents SET tenant_id = 'default' WHERE id BETWEEN :first AND :last AND tenant_id IS NULL;
