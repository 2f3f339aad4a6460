UPDATE agents SET tenant_id = NULL;
