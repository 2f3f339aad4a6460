ALTER TABLE agents DROP COLUMN metadata;
