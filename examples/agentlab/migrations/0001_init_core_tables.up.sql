-- Core tables: sandboxes, jobs, profiles, workspaces, bootstrap tokens, events.
CREATE TABLE profiles (
    name        TEXT PRIMARY KEY,
    template_vm INTEGER NOT NULL,
    cpu         INTEGER NOT NULL DEFAULT 2,
    memory_mb   INTEGER NOT NULL DEFAULT 2048
);

CREATE TABLE workspaces (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    size_gb    INTEGER NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE sandboxes (
    vmid         INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    profile      TEXT NOT NULL REFERENCES profiles (name),
    state        TEXT NOT NULL DEFAULT 'requested',
    workspace_id TEXT REFERENCES workspaces (id),
    lease_until  TEXT,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE jobs (
    id         TEXT PRIMARY KEY,
    repo_url   TEXT NOT NULL,
    ref        TEXT NOT NULL DEFAULT 'main',
    profile    TEXT NOT NULL REFERENCES profiles (name),
    sandbox    INTEGER REFERENCES sandboxes (vmid),
    status     TEXT NOT NULL DEFAULT 'queued',
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE bootstrap_tokens (
    token_hash TEXT PRIMARY KEY,
    vmid       INTEGER NOT NULL REFERENCES sandboxes (vmid),
    expires_at TEXT NOT NULL,
    consumed   INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    vmid       INTEGER,
    job_id     TEXT,
    kind       TEXT NOT NULL,
    message    TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE INDEX events_vmid ON events (vmid);
CREATE INDEX jobs_status ON jobs (status);

INSERT INTO profiles (name, template_vm, cpu, memory_mb) VALUES ('yolo-ephemeral', 9000, 4, 8192);
