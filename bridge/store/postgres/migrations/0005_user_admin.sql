-- Issue 15: user status (blocking), preferences, a name the user chose,
-- and indexes for Appwrite-style paging of users and identities.
ALTER TABLE users ADD COLUMN status boolean NOT NULL DEFAULT true;
ALTER TABLE users ADD COLUMN prefs text NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN name_custom boolean NOT NULL DEFAULT false;
CREATE INDEX users_created_at ON users (created_at, id);
CREATE INDEX identities_created_at ON identities (created_at, id);
