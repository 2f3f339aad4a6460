DROP TABLE agent_metadata;
