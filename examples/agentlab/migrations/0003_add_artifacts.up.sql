-- Artifact uploads from sandboxes (AgentLab 1.1.0).
CREATE TABLE artifact_tokens (
    token_hash TEXT PRIMARY KEY,
    job_id     TEXT NOT NULL REFERENCES jobs (id),
    vmid       INTEGER NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE TABLE artifacts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id     TEXT NOT NULL REFERENCES jobs (id),
    vmid       INTEGER NOT NULL,
    name       TEXT NOT NULL,
    path       TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    sha256     TEXT NOT NULL,
    mime       TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE INDEX artifacts_job ON artifacts (job_id);
