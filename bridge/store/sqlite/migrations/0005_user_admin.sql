-- Issue 15: user status (blocking), preferences, a name the user chose,
-- and indexes for Appwrite-style paging of users and identities.
ALTER TABLE users ADD COLUMN status INTEGER NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN prefs TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN name_custom INTEGER NOT NULL DEFAULT 0;
CREATE INDEX users_created_at ON users (created_at, id);
CREATE INDEX identities_created_at ON identities (created_at, id);
