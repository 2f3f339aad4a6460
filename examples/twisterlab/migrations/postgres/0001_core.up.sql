-- TwisterLab 1.0.0: agents and the tasks they run.
CREATE TABLE agents (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL DEFAULT 'worker',
    enabled BOOLEAN NOT NULL DEFAULT true,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE tasks (
    id BIGSERIAL PRIMARY KEY,
    agent_id BIGINT NOT NULL REFERENCES agents (id),
    ok BOOLEAN NOT NULL,
    latency_ms INTEGER NOT NULL,
    payload BYTEA,
    finished_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX tasks_agent ON tasks (agent_id);
