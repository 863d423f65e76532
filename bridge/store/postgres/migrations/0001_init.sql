CREATE TABLE users (
	id             text PRIMARY KEY,
	created_at     timestamptz,
	updated_at     timestamptz,
	name           text NOT NULL DEFAULT '',
	email          text NOT NULL DEFAULT '',
	email_verified boolean NOT NULL DEFAULT false,
	accessed_at    timestamptz
);

CREATE TABLE identities (
	id           text PRIMARY KEY,
	user_id      text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	provider     text NOT NULL,
	provider_uid text NOT NULL,
	email        text NOT NULL DEFAULT '',
	created_at   timestamptz,
	updated_at   timestamptz,
	UNIQUE (provider, provider_uid)
);
CREATE INDEX identities_user_id ON identities (user_id);

CREATE TABLE sessions (
	id                    text PRIMARY KEY,
	user_id               text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	created_at            timestamptz,
	updated_at            timestamptz,
	expire                timestamptz,
	secret_hash           bytea,
	provider              text NOT NULL DEFAULT '',
	provider_uid          text NOT NULL DEFAULT '',
	email_verified        boolean NOT NULL DEFAULT false,
	access_token_sealed   bytea,
	refresh_token_sealed  bytea,
	access_token_expiry   timestamptz,
	refresh_at            timestamptz,
	refresh_failures      integer NOT NULL DEFAULT 0,
	lease_owner           text NOT NULL DEFAULT '',
	lease_until           timestamptz,
	ip                    text NOT NULL DEFAULT '',
	os_code               text NOT NULL DEFAULT '',
	os_name               text NOT NULL DEFAULT '',
	os_version            text NOT NULL DEFAULT '',
	client_type           text NOT NULL DEFAULT '',
	client_code           text NOT NULL DEFAULT '',
	client_name           text NOT NULL DEFAULT '',
	client_version        text NOT NULL DEFAULT '',
	client_engine         text NOT NULL DEFAULT '',
	client_engine_version text NOT NULL DEFAULT '',
	device_name           text NOT NULL DEFAULT '',
	device_brand          text NOT NULL DEFAULT '',
	device_model          text NOT NULL DEFAULT '',
	country_code          text NOT NULL DEFAULT '',
	country_name          text NOT NULL DEFAULT '',
	version               bigint NOT NULL
);
-- ListSessions: a user's sessions, oldest first.
CREATE INDEX sessions_user_id ON sessions (user_id, created_at, id);
-- NextRefreshAt and ClaimDueGrants walk this index from its start, so
-- their cost follows the number of due grants, not the table size.
CREATE INDEX sessions_refresh_at ON sessions (refresh_at, id) WHERE refresh_at IS NOT NULL;
CREATE INDEX sessions_expire ON sessions (expire);

CREATE TABLE login_flows (
	id         text PRIMARY KEY,
	provider   text NOT NULL,
	mode       text NOT NULL,
	success    text NOT NULL,
	failure    text NOT NULL,
	scopes     text NOT NULL, -- JSON array
	created_at timestamptz,
	expires_at timestamptz NOT NULL
);
CREATE INDEX login_flows_expires_at ON login_flows (expires_at);

CREATE TABLE login_tokens (
	secret_hash bytea PRIMARY KEY,
	user_id     text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	expires_at  timestamptz NOT NULL,
	session     bytea NOT NULL -- JSON of the pending store.Session
);
CREATE INDEX login_tokens_expires_at ON login_tokens (expires_at);
