-- OctoLLM 0.1.0: tasks on a 1-5 priority scale, and their history.
CREATE TABLE tasks (
  id BIGSERIAL PRIMARY KEY,
  description TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'queued',
  priority INTEGER NOT NULL DEFAULT 3,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CONSTRAINT tasks_priority_check CHECK (priority BETWEEN 1 AND 5)
);

CREATE TABLE task_history (
  id BIGSERIAL PRIMARY KEY,
  task_id BIGINT NOT NULL REFERENCES tasks (id),
  event TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX task_history_task_id ON task_history (task_id);
