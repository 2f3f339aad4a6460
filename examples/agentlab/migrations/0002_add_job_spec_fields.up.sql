-- Adds task, mode, ttl_minutes and keepalive to jobs; existing rows get defaults.
ALTER TABLE jobs ADD COLUMN task TEXT;
ALTER TABLE jobs ADD COLUMN mode TEXT NOT NULL DEFAULT 'dangerous';
ALTER TABLE jobs ADD COLUMN ttl_minutes INTEGER NOT NULL DEFAULT 120;
ALTER TABLE jobs ADD COLUMN keepalive INTEGER NOT NULL DEFAULT 0;
