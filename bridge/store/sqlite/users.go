package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// userCols are the columns scanUser reads; insertUserCols those a new
// user is inserted with (status and prefs keep their defaults).
const (
	userCols       = "id, created_at, updated_at, name, email, email_verified, accessed_at, status, prefs"
	insertUserCols = "id, created_at, updated_at, name, email, email_verified, accessed_at"
)

func scanUser(r scanner) (store.User, error) {
	var (
		u                          store.User
		created, updated, accessed sql.NullInt64
		active                     bool
	)
	if err := r.Scan(&u.ID, &created, &updated, &u.Name, &u.Email, &u.EmailVerified, &accessed, &active, &u.Prefs); err != nil {
		return store.User{}, err
	}
	u.CreatedAt, u.UpdatedAt, u.AccessedAt = fromMicros(created), fromMicros(updated), fromMicros(accessed)
	u.Blocked = !active
	return u, nil
}

// A login's user statements, prepared (see statements).
const (
	findIdentityQuery   = "SELECT id, user_id FROM identities WHERE provider = ? AND provider_uid = ?"
	insertUserQuery     = "INSERT INTO users (" + insertUserCols + ") VALUES (?, ?, ?, ?, ?, ?, ?)"
	insertIdentityQuery = `INSERT INTO identities (id, user_id, provider, provider_uid, email, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`
	updateIdentityQuery = `UPDATE identities SET updated_at = ?,
		email = CASE WHEN ? = '' THEN email ELSE ? END WHERE id = ?`
	updateUserQuery = `UPDATE users SET updated_at = ?, accessed_at = ?,
		name = CASE WHEN ? = '' OR name_custom THEN name ELSE ? END,
		email = CASE WHEN ? = '' THEN email ELSE ? END,
		email_verified = CASE WHEN ? = '' THEN email_verified ELSE ? END
		WHERE id = ?`
)

// UpsertIdentity implements store.Users. The lookup and the insert run in
// one immediate transaction, so racing first logins of one account across
// processes end with a single user.
func (s *Store) UpsertIdentity(ctx context.Context, in store.IdentityInput, now time.Time) (store.User, error) {
	var u store.User
	err := s.write(ctx, func(tx *sql.Tx) (err error) {
		u, err = s.upsertIdentityTx(ctx, tx, in, now)
		return err
	})
	if err != nil {
		return store.User{}, fmt.Errorf("sqlite: upsert identity: %w", err)
	}
	return u, nil
}

// upsertIdentityTx is UpsertIdentity inside the caller's write transaction.
// rekeyIdentity moves an identity kept under the provider's previous UID
// form (store.IdentityInput.PreviousProviderUID) to the current one,
// unless the current one exists already.
func rekeyIdentity(ctx context.Context, tx *sql.Tx, in store.IdentityInput) error {
	if in.PreviousProviderUID == "" || in.PreviousProviderUID == in.ProviderUID {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE identities SET provider_uid = ? WHERE provider = ? AND provider_uid = ?
		AND NOT EXISTS (SELECT 1 FROM identities WHERE provider = ? AND provider_uid = ?)`,
		in.ProviderUID, in.Provider, in.PreviousProviderUID, in.Provider, in.ProviderUID); err != nil {
		return fmt.Errorf("re-key identity: %w", err)
	}
	return nil
}

func (s *Store) upsertIdentityTx(ctx context.Context, tx *sql.Tx, in store.IdentityInput, now time.Time) (store.User, error) {
	stmt := func(st *sql.Stmt) *sql.Stmt { return tx.StmtContext(ctx, st) }
	if err := rekeyIdentity(ctx, tx, in); err != nil {
		return store.User{}, err
	}
	var identityID, userID string
	err := stmt(s.stmts.findIdentity).QueryRowContext(ctx, in.Provider, in.ProviderUID).Scan(&identityID, &userID)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		userID = store.NewID()
		if _, err := stmt(s.stmts.insertUser).ExecContext(ctx,
			userID, micros(now), micros(now), in.Name, in.Email, in.EmailVerified, micros(now)); err != nil {
			return store.User{}, fmt.Errorf("insert user: %w", err)
		}
		if _, err := stmt(s.stmts.insertIdentity).ExecContext(ctx,
			store.NewID(), userID, in.Provider, in.ProviderUID, in.Email, micros(now), micros(now)); err != nil {
			return store.User{}, fmt.Errorf("insert identity: %w", err)
		}
	case err != nil:
		return store.User{}, fmt.Errorf("find identity: %w", err)
	default:
		// Empty values keep what is stored: some providers send the
		// name or email only on the first login.
		if _, err := stmt(s.stmts.updateIdentity).ExecContext(ctx,
			micros(now), in.Email, in.Email, identityID); err != nil {
			return store.User{}, fmt.Errorf("update identity: %w", err)
		}
		if _, err := stmt(s.stmts.updateUser).ExecContext(ctx,
			micros(now), micros(now), in.Name, in.Name, in.Email, in.Email, in.Email, in.EmailVerified, userID); err != nil {
			return store.User{}, fmt.Errorf("update user: %w", err)
		}
	}
	return scanUser(stmt(s.stmts.getUser).QueryRowContext(ctx, userID))
}

// GetUser implements store.Users.
func (s *Store) GetUser(ctx context.Context, id string) (store.User, error) {
	u, err := scanUser(s.stmts.getUser.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.User{}, store.ErrNotFound
	}
	if err != nil {
		return store.User{}, fmt.Errorf("sqlite: get user: %w", err)
	}
	return u, nil
}

// ListIdentities implements store.Users, oldest identity first.
func (s *Store) ListIdentities(ctx context.Context, userID string) ([]store.Identity, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, user_id, provider, provider_uid, email, created_at, updated_at
		FROM identities WHERE user_id = ? ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list identities: %w", err)
	}
	defer rows.Close()
	var out []store.Identity
	for rows.Next() {
		var (
			i                store.Identity
			created, updated sql.NullInt64
		)
		if err := rows.Scan(&i.ID, &i.UserID, &i.Provider, &i.ProviderUID, &i.Email, &created, &updated); err != nil {
			return nil, fmt.Errorf("sqlite: list identities: %w", err)
		}
		i.CreatedAt, i.UpdatedAt = fromMicros(created), fromMicros(updated)
		out = append(out, i)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list identities: %w", err)
	}
	return out, nil
}

// TouchUser implements store.Users. A read first: a user touched within
// the period costs no write (and no write lock) at all; the update is
// conditional too, so racing processes write once.
func (s *Store) TouchUser(ctx context.Context, id string, now time.Time, every time.Duration) error {
	var at sql.NullInt64
	err := s.db.QueryRowContext(ctx, "SELECT accessed_at FROM users WHERE id = ?", id).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("sqlite: touch user: %w", err)
	}
	threshold := now.Add(-every).UnixMicro()
	if at.Valid && at.Int64 > threshold {
		return nil
	}
	if _, err := s.exec(ctx, "UPDATE users SET accessed_at = ? WHERE id = ? AND (accessed_at IS NULL OR accessed_at <= ?)",
		micros(now), id, threshold); err != nil {
		return fmt.Errorf("sqlite: touch user: %w", err)
	}
	return nil
}
