-- Cluster-wide chores (the janitor): one row per chore; a process runs the
-- chore only when it moves next_run forward (store.Housekeeping).
CREATE TABLE chores (
	name     text PRIMARY KEY,
	owner    text NOT NULL DEFAULT '',
	next_run timestamptz NOT NULL
);

-- When the provider last issued a session's tokens (login or refresh): a
-- provider's minimum refresh interval counts from it. NULL: unknown.
ALTER TABLE sessions ADD COLUMN refreshed_at timestamptz;
