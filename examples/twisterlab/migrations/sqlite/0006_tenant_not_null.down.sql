-- ferry:foreign-keys-off
-- The tables rebuilt again, tenant_id nullable as before.
CREATE TABLE agents_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL DEFAULT 'worker',
    enabled BOOLEAN NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    description TEXT,
    tenant_id VARCHAR(50)
);
INSERT INTO agents_new SELECT id, name, kind, enabled, created_at, description, tenant_id FROM agents;
DROP TABLE agents;
ALTER TABLE agents_new RENAME TO agents;
CREATE INDEX ix_agent_tenant ON agents (tenant_id);
CREATE TABLE tasks_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    agent_id INTEGER NOT NULL REFERENCES agents (id),
    ok BOOLEAN NOT NULL,
    latency_ms INTEGER NOT NULL,
    payload BLOB,
    finished_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    tenant_id VARCHAR(50)
);
INSERT INTO tasks_new SELECT id, agent_id, ok, latency_ms, payload, finished_at, tenant_id FROM tasks;
DROP TABLE tasks;
ALTER TABLE tasks_new RENAME TO tasks;
CREATE INDEX tasks_agent ON tasks (agent_id);
CREATE INDEX ix_task_tenant ON tasks (tenant_id);
