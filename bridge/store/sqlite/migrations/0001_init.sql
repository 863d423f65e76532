-- Times are INTEGER Unix microseconds (UTC); NULL means the zero time.
CREATE TABLE users (
	id             TEXT PRIMARY KEY,
	created_at     INTEGER,
	updated_at     INTEGER,
	name           TEXT NOT NULL DEFAULT '',
	email          TEXT NOT NULL DEFAULT '',
	email_verified INTEGER NOT NULL DEFAULT 0,
	accessed_at    INTEGER
) STRICT;

CREATE TABLE identities (
	id           TEXT PRIMARY KEY,
	user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	provider     TEXT NOT NULL,
	provider_uid TEXT NOT NULL,
	email        TEXT NOT NULL DEFAULT '',
	created_at   INTEGER,
	updated_at   INTEGER,
	UNIQUE (provider, provider_uid)
) STRICT;
CREATE INDEX identities_user_id ON identities (user_id);

CREATE TABLE sessions (
	id                    TEXT PRIMARY KEY,
	user_id               TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	created_at            INTEGER,
	updated_at            INTEGER,
	expire                INTEGER,
	secret_hash           BLOB,
	provider              TEXT NOT NULL DEFAULT '',
	provider_uid          TEXT NOT NULL DEFAULT '',
	email_verified        INTEGER NOT NULL DEFAULT 0,
	access_token_sealed   BLOB,
	refresh_token_sealed  BLOB,
	access_token_expiry   INTEGER,
	refresh_at            INTEGER,
	refresh_failures      INTEGER NOT NULL DEFAULT 0,
	lease_owner           TEXT NOT NULL DEFAULT '',
	lease_until           INTEGER,
	ip                    TEXT NOT NULL DEFAULT '',
	os_code               TEXT NOT NULL DEFAULT '',
	os_name               TEXT NOT NULL DEFAULT '',
	os_version            TEXT NOT NULL DEFAULT '',
	client_type           TEXT NOT NULL DEFAULT '',
	client_code           TEXT NOT NULL DEFAULT '',
	client_name           TEXT NOT NULL DEFAULT '',
	client_version        TEXT NOT NULL DEFAULT '',
	client_engine         TEXT NOT NULL DEFAULT '',
	client_engine_version TEXT NOT NULL DEFAULT '',
	device_name           TEXT NOT NULL DEFAULT '',
	device_brand          TEXT NOT NULL DEFAULT '',
	device_model          TEXT NOT NULL DEFAULT '',
	country_code          TEXT NOT NULL DEFAULT '',
	country_name          TEXT NOT NULL DEFAULT '',
	version               INTEGER NOT NULL
) STRICT;
-- ListSessions: a user's sessions, oldest first.
CREATE INDEX sessions_user_id ON sessions (user_id, created_at, id);
-- NextRefreshAt and ClaimDueGrants walk this index from its start, so
-- their cost follows the number of due grants, not the table size.
CREATE INDEX sessions_refresh_at ON sessions (refresh_at, id) WHERE refresh_at IS NOT NULL;
CREATE INDEX sessions_expire ON sessions (expire);

CREATE TABLE login_flows (
	id         TEXT PRIMARY KEY,
	provider   TEXT NOT NULL,
	mode       TEXT NOT NULL,
	success    TEXT NOT NULL,
	failure    TEXT NOT NULL,
	scopes     TEXT NOT NULL, -- JSON array
	created_at INTEGER,
	expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX login_flows_expires_at ON login_flows (expires_at);

CREATE TABLE login_tokens (
	secret_hash BLOB PRIMARY KEY,
	user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	expires_at  INTEGER NOT NULL,
	session     BLOB NOT NULL -- JSON of the pending store.Session
) STRICT;
CREATE INDEX login_tokens_expires_at ON login_tokens (expires_at);
