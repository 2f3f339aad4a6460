-- 1.1.0: agents describe themselves.
ALTER TABLE agents ADD COLUMN description TEXT;
