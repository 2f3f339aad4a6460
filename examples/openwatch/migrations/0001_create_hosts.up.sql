CREATE TABLE hosts (
    id         SERIAL PRIMARY KEY,
    hostname   TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
