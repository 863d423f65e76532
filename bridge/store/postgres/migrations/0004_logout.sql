-- Logout (issue 13): the provider session (the ID token's sid) and the
-- sealed ID token (the id_token_hint of RP-initiated logout) of each
-- session, and the back-channel logout tokens already used (jti replay).
ALTER TABLE sessions ADD COLUMN provider_sid text NOT NULL DEFAULT '';
-- What later requests for the grant need (Zoho's accounts server).
ALTER TABLE sessions ADD COLUMN grant_data text NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN id_token_sealed bytea;
-- Back-channel logout finds a provider user's or provider session's sessions.
CREATE INDEX sessions_provider_uid ON sessions (provider, provider_uid);
CREATE INDEX sessions_provider_sid ON sessions (provider, provider_sid) WHERE provider_sid <> '';

CREATE TABLE logout_jtis (
	provider   text NOT NULL,
	jti        text NOT NULL,
	expires_at timestamptz NOT NULL,
	PRIMARY KEY (provider, jti)
);
CREATE INDEX logout_jtis_expires_at ON logout_jtis (expires_at);
