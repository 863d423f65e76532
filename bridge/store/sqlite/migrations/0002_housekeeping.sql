-- Cluster-wide chores (the janitor): one row per chore; a process runs the
-- chore only when it moves next_run forward (store.Housekeeping).
CREATE TABLE chores (
	name     TEXT PRIMARY KEY,
	owner    TEXT NOT NULL DEFAULT '',
	next_run INTEGER NOT NULL
) STRICT;
