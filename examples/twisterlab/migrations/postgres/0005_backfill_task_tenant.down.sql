UPDATE tasks SET tenant_id = NULL;
