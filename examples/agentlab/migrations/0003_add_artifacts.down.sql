DROP TABLE artifacts;
DROP TABLE artifact_tokens;
