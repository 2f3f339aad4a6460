CREATE TABLE agent_metadata (
    agent_id INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    value    JSONB NOT NULL,
    PRIMARY KEY (agent_id, key)
);
