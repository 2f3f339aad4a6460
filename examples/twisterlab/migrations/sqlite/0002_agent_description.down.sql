ALTER TABLE agents DROP COLUMN description;
