ALTER TABLE conversations ADD COLUMN messages TEXT;
UPDATE conversations SET messages = messages_json ->> 0 WHERE jsonb_array_length(messages_json) > 0;
ALTER TABLE conversations DROP COLUMN messages_json;
ALTER TABLE conversations DROP COLUMN title;
