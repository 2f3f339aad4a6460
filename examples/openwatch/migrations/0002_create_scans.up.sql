CREATE TABLE scans (
    id         SERIAL PRIMARY KEY,
    host_id    INTEGER NOT NULL REFERENCES hosts (id),
    status     TEXT NOT NULL DEFAULT 'pending',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX scans_host ON scans (host_id);
