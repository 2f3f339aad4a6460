DROP TABLE events;
DROP TABLE bootstrap_tokens;
DROP TABLE jobs;
DROP TABLE sandboxes;
DROP TABLE workspaces;
DROP TABLE profiles;
