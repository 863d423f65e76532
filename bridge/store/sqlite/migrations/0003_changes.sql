-- The change feed behind every instance's session cache: each write that
-- can change what a session check answers (a session deleted, or updated
-- in a column a reader sees; a user updated or deleted) appends a row,
-- whichever code path or process made it. Readers poll it by seq; SQLite
-- has one writer at a time, so seq order is commit order.
--
-- Columns a reader never sees (the refresher's lease and schedule:
-- refresh_at, refresh_failures, lease_owner, lease_until, version) do not
-- count: a grant claim is no change. A new sessions column that a reader
-- sees must be added to the WHEN clause below.
CREATE TABLE changes (
	seq  INTEGER PRIMARY KEY AUTOINCREMENT,
	kind TEXT NOT NULL, -- 's' session, 'u' user
	id   TEXT NOT NULL,
	at   INTEGER NOT NULL DEFAULT (unixepoch()) -- seconds, for pruning
) STRICT;
CREATE INDEX changes_at ON changes (at);

CREATE TRIGGER changes_session_delete AFTER DELETE ON sessions BEGIN
	INSERT INTO changes (kind, id) VALUES ('s', OLD.id);
END;

CREATE TRIGGER changes_session_update AFTER UPDATE ON sessions
WHEN OLD.expire IS NOT NEW.expire OR OLD.updated_at IS NOT NEW.updated_at
	OR OLD.secret_hash IS NOT NEW.secret_hash OR OLD.user_id IS NOT NEW.user_id
	OR OLD.access_token_sealed IS NOT NEW.access_token_sealed
	OR OLD.refresh_token_sealed IS NOT NEW.refresh_token_sealed
	OR OLD.access_token_expiry IS NOT NEW.access_token_expiry
	OR OLD.email_verified IS NOT NEW.email_verified OR OLD.provider IS NOT NEW.provider
	OR OLD.provider_uid IS NOT NEW.provider_uid OR OLD.ip IS NOT NEW.ip
	OR OLD.os_code IS NOT NEW.os_code OR OLD.os_name IS NOT NEW.os_name OR OLD.os_version IS NOT NEW.os_version
	OR OLD.client_type IS NOT NEW.client_type OR OLD.client_code IS NOT NEW.client_code
	OR OLD.client_name IS NOT NEW.client_name OR OLD.client_version IS NOT NEW.client_version
	OR OLD.client_engine IS NOT NEW.client_engine OR OLD.client_engine_version IS NOT NEW.client_engine_version
	OR OLD.device_name IS NOT NEW.device_name OR OLD.device_brand IS NOT NEW.device_brand
	OR OLD.device_model IS NOT NEW.device_model OR OLD.country_code IS NOT NEW.country_code
	OR OLD.country_name IS NOT NEW.country_name
BEGIN
	INSERT INTO changes (kind, id) VALUES ('s', OLD.id);
END;

-- A user's status, deletion or any other update except the access stamp
-- (TouchUser, written often) invalidates their cached sessions.
CREATE TRIGGER changes_user_update AFTER UPDATE ON users
WHEN OLD.accessed_at IS NEW.accessed_at OR OLD.updated_at IS NOT NEW.updated_at BEGIN
	INSERT INTO changes (kind, id) VALUES ('u', OLD.id);
END;

CREATE TRIGGER changes_user_delete AFTER DELETE ON users BEGIN
	INSERT INTO changes (kind, id) VALUES ('u', OLD.id);
END;
