-- The change feed behind every instance's session cache: each write that
-- can change what a session check answers (a session deleted, or updated
-- in a column a reader sees; a user updated or deleted) appends a row,
-- whichever code path or process made it, and wakes listeners with
-- NOTIFY sessionbridge_changes (payload: the schema). Sequence values are
-- taken before commit, so commit order is not seq order: readers follow
-- txid against the snapshot's xmin instead (see ChangesSince).
--
-- Columns a reader never sees (the refresher's lease and schedule:
-- refresh_at, refresh_failures, lease_owner, lease_until, version) do not
-- count: a grant claim is no change. A new sessions column that a reader
-- sees must be added to the WHEN clause below.
CREATE TABLE changes (
	seq  bigserial PRIMARY KEY,
	txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
	kind text NOT NULL, -- 's' session, 'u' user
	id   text NOT NULL,
	at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX changes_txid ON changes (txid);
CREATE INDEX changes_at ON changes (at);

CREATE FUNCTION changes_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO changes (kind, id) VALUES (TG_ARGV[0], OLD.id);
	PERFORM pg_notify('sessionbridge_changes', current_schema());
	RETURN NULL;
END $$;

CREATE TRIGGER changes_session_delete AFTER DELETE ON sessions
	FOR EACH ROW EXECUTE FUNCTION changes_record('s');

CREATE TRIGGER changes_session_update AFTER UPDATE ON sessions FOR EACH ROW
WHEN (OLD.expire IS DISTINCT FROM NEW.expire OR OLD.updated_at IS DISTINCT FROM NEW.updated_at
	OR OLD.secret_hash IS DISTINCT FROM NEW.secret_hash OR OLD.user_id IS DISTINCT FROM NEW.user_id
	OR OLD.access_token_sealed IS DISTINCT FROM NEW.access_token_sealed
	OR OLD.refresh_token_sealed IS DISTINCT FROM NEW.refresh_token_sealed
	OR OLD.access_token_expiry IS DISTINCT FROM NEW.access_token_expiry
	OR OLD.email_verified IS DISTINCT FROM NEW.email_verified OR OLD.provider IS DISTINCT FROM NEW.provider
	OR OLD.provider_uid IS DISTINCT FROM NEW.provider_uid OR OLD.ip IS DISTINCT FROM NEW.ip
	OR OLD.os_code IS DISTINCT FROM NEW.os_code OR OLD.os_name IS DISTINCT FROM NEW.os_name
	OR OLD.os_version IS DISTINCT FROM NEW.os_version
	OR OLD.client_type IS DISTINCT FROM NEW.client_type OR OLD.client_code IS DISTINCT FROM NEW.client_code
	OR OLD.client_name IS DISTINCT FROM NEW.client_name OR OLD.client_version IS DISTINCT FROM NEW.client_version
	OR OLD.client_engine IS DISTINCT FROM NEW.client_engine
	OR OLD.client_engine_version IS DISTINCT FROM NEW.client_engine_version
	OR OLD.device_name IS DISTINCT FROM NEW.device_name OR OLD.device_brand IS DISTINCT FROM NEW.device_brand
	OR OLD.device_model IS DISTINCT FROM NEW.device_model OR OLD.country_code IS DISTINCT FROM NEW.country_code
	OR OLD.country_name IS DISTINCT FROM NEW.country_name)
	EXECUTE FUNCTION changes_record('s');

-- A user's status, deletion or any other update except the access stamp
-- (TouchUser, written often) invalidates their cached sessions.
CREATE TRIGGER changes_user_update AFTER UPDATE ON users FOR EACH ROW
WHEN (OLD.accessed_at IS NOT DISTINCT FROM NEW.accessed_at OR OLD.updated_at IS DISTINCT FROM NEW.updated_at)
	EXECUTE FUNCTION changes_record('u');

CREATE TRIGGER changes_user_delete AFTER DELETE ON users
	FOR EACH ROW EXECUTE FUNCTION changes_record('u');

-- Pending logins and token-flow secrets live minutes and are single use:
-- unlogged, their writes skip the WAL, so the three flow writes of a login
-- (start, bind, callback) commit without waiting for a disk flush; only
-- the session's commit does. A database crash (or a failover to a standby)
-- loses the logins in progress, which the user starts again; sessions are
-- never unlogged.
ALTER TABLE login_flows SET UNLOGGED;
ALTER TABLE login_tokens SET UNLOGGED;
