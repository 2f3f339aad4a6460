-- SQLite 3.35+ drops columns in place.
ALTER TABLE jobs DROP COLUMN keepalive;
ALTER TABLE jobs DROP COLUMN ttl_minutes;
ALTER TABLE jobs DROP COLUMN mode;
ALTER TABLE jobs DROP COLUMN task;
