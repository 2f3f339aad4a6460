-- 2.0: conversations keep their messages as a JSON array and get a title.
ALTER TABLE conversations ADD COLUMN title TEXT;
ALTER TABLE conversations ADD COLUMN messages_json JSONB NOT NULL DEFAULT '[]';
UPDATE conversations SET messages_json = jsonb_build_array(messages) WHERE messages IS NOT NULL;
ALTER TABLE conversations DROP COLUMN messages;
