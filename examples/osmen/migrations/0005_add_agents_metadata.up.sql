-- 2.1: every agent carries a metadata document.
ALTER TABLE agents ADD COLUMN IF NOT EXISTS metadata JSONB DEFAULT '{}';
UPDATE agents SET metadata = '{"version": "2.1"}' WHERE metadata IS NULL OR metadata = '{}';
