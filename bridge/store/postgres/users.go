package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// userCols are the columns scanUser reads; insertUserCols those a new
// user is inserted with (status and prefs keep their defaults).
const (
	userCols       = "id, created_at, updated_at, name, email, email_verified, accessed_at, status, prefs"
	insertUserCols = "id, created_at, updated_at, name, email, email_verified, accessed_at"
)

func scanUser(r pgx.Row) (store.User, error) {
	var (
		u                          store.User
		created, updated, accessed pgtype.Timestamptz
		active                     bool
	)
	if err := r.Scan(&u.ID, &created, &updated, &u.Name, &u.Email, &u.EmailVerified, &accessed, &active, &u.Prefs); err != nil {
		return store.User{}, err
	}
	u.CreatedAt, u.UpdatedAt, u.AccessedAt = fromTS(created), fromTS(updated), fromTS(accessed)
	u.Blocked = !active
	return u, nil
}

// errRaced: another transaction created the identity while ours tried to.
var errRaced = errors.New("identity created concurrently")

// UpsertIdentity implements store.Users. A first login inserts the
// identity with ON CONFLICT DO NOTHING; losing that race to a concurrent
// first login rolls back our user and retries, which then finds theirs.
func (s *Store) UpsertIdentity(ctx context.Context, in store.IdentityInput, now time.Time) (store.User, error) {
	for attempt := 0; ; attempt++ {
		u, err := s.upsertIdentity(ctx, in, now)
		if errors.Is(err, errRaced) && attempt < 3 {
			continue
		}
		if err != nil {
			return store.User{}, fmt.Errorf("postgres: upsert identity: %w", err)
		}
		return u, nil
	}
}

func (s *Store) upsertIdentity(ctx context.Context, in store.IdentityInput, now time.Time) (store.User, error) {
	var u store.User
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) (err error) {
		u, err = upsertIdentityTx(ctx, tx, in, now)
		return err
	})
	return u, err
}

// upsertIdentityTx is one attempt of UpsertIdentity inside the caller's
// transaction; errRaced means the caller rolls back and tries again.
// rekeyIdentity moves an identity kept under the provider's previous UID
// form (store.IdentityInput.PreviousProviderUID) to the current one,
// unless the current one exists already; a concurrent login creating the
// current one makes it a race (retried).
func rekeyIdentity(ctx context.Context, tx pgx.Tx, in store.IdentityInput) error {
	if in.PreviousProviderUID == "" || in.PreviousProviderUID == in.ProviderUID {
		return nil
	}
	_, err := tx.Exec(ctx, `UPDATE identities SET provider_uid = $1 WHERE provider = $2 AND provider_uid = $3
		AND NOT EXISTS (SELECT 1 FROM identities WHERE provider = $2 AND provider_uid = $1)`,
		in.ProviderUID, in.Provider, in.PreviousProviderUID)
	if isUniqueViolation(err) {
		return errRaced
	}
	if err != nil {
		return fmt.Errorf("re-key identity: %w", err)
	}
	return nil
}

func upsertIdentityTx(ctx context.Context, tx pgx.Tx, in store.IdentityInput, now time.Time) (store.User, error) {
	if err := rekeyIdentity(ctx, tx, in); err != nil {
		return store.User{}, err
	}
	var identityID, userID string
	err := tx.QueryRow(ctx, "SELECT id, user_id FROM identities WHERE provider = $1 AND provider_uid = $2 FOR UPDATE",
		in.Provider, in.ProviderUID).Scan(&identityID, &userID)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		userID = store.NewID()
		if _, err := tx.Exec(ctx, "INSERT INTO users ("+insertUserCols+") VALUES ($1, $2, $2, $3, $4, $5, $2)",
			userID, ts(now), in.Name, in.Email, in.EmailVerified); err != nil {
			return store.User{}, fmt.Errorf("insert user: %w", err)
		}
		tag, err := tx.Exec(ctx, `INSERT INTO identities (id, user_id, provider, provider_uid, email, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (provider, provider_uid) DO NOTHING`,
			store.NewID(), userID, in.Provider, in.ProviderUID, in.Email, ts(now))
		if err != nil {
			return store.User{}, fmt.Errorf("insert identity: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return store.User{}, errRaced
		}
	case err != nil:
		return store.User{}, fmt.Errorf("find identity: %w", err)
	default:
		// Empty values keep what is stored: some providers send the
		// name or email only on the first login.
		if _, err := tx.Exec(ctx, touchIdentitySQL+"id = $3", ts(now), in.Email, identityID); err != nil {
			return store.User{}, fmt.Errorf("update identity: %w", err)
		}
		if _, err := tx.Exec(ctx, touchUserSQL+"id = $5", ts(now), in.Name, in.Email, in.EmailVerified, userID); err != nil {
			return store.User{}, fmt.Errorf("update user: %w", err)
		}
	}
	return scanUser(tx.QueryRow(ctx, "SELECT "+userCols+" FROM users WHERE id = $1", userID))
}

// A known identity's login updates it and its user: empty values keep
// what is stored (some providers send the name or email only on the first
// login), and a name the user set stays. Both end in the WHERE clause the
// caller completes (placeholders $1 the time, $2 the email for identities;
// $1 the time, $2 the name, $3 the email, $4 email_verified for users).
const (
	touchIdentitySQL = `UPDATE identities SET updated_at = $1,
		email = CASE WHEN $2 = '' THEN email ELSE $2 END WHERE `
	touchUserSQL = `UPDATE users SET updated_at = $1, accessed_at = $1,
		name = CASE WHEN $2 = '' OR name_custom THEN name ELSE $2 END,
		email = CASE WHEN $3 = '' THEN email ELSE $3 END,
		email_verified = CASE WHEN $3 = '' THEN email_verified ELSE $4 END
		WHERE `
)

// GetUser implements store.Users.
func (s *Store) GetUser(ctx context.Context, id string) (store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, "SELECT "+userCols+" FROM users WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.User{}, store.ErrNotFound
	}
	if err != nil {
		return store.User{}, fmt.Errorf("postgres: get user: %w", err)
	}
	return u, nil
}

// ListIdentities implements store.Users, oldest identity first.
func (s *Store) ListIdentities(ctx context.Context, userID string) ([]store.Identity, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, user_id, provider, provider_uid, email, created_at, updated_at
		FROM identities WHERE user_id = $1 ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("postgres: list identities: %w", err)
	}
	defer rows.Close()
	var out []store.Identity
	for rows.Next() {
		var (
			i                store.Identity
			created, updated pgtype.Timestamptz
		)
		if err := rows.Scan(&i.ID, &i.UserID, &i.Provider, &i.ProviderUID, &i.Email, &created, &updated); err != nil {
			return nil, fmt.Errorf("postgres: list identities: %w", err)
		}
		i.CreatedAt, i.UpdatedAt = fromTS(created), fromTS(updated)
		out = append(out, i)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: list identities: %w", err)
	}
	return out, nil
}

// TouchUser implements store.Users. A read first: a user touched within
// the period costs no write at all; the update is conditional too, so
// racing processes write once.
func (s *Store) TouchUser(ctx context.Context, id string, now time.Time, every time.Duration) error {
	var at pgtype.Timestamptz
	err := s.pool.QueryRow(ctx, "SELECT accessed_at FROM users WHERE id = $1", id).Scan(&at)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("postgres: touch user: %w", err)
	}
	threshold := now.Add(-every)
	if at.Valid && at.Time.After(threshold) {
		return nil
	}
	if _, err := s.pool.Exec(ctx, "UPDATE users SET accessed_at = $1 WHERE id = $2 AND (accessed_at IS NULL OR accessed_at <= $3)",
		ts(now), id, ts(threshold)); err != nil {
		return fmt.Errorf("postgres: touch user: %w", err)
	}
	return nil
}

// isUniqueViolation reports a unique_violation (SQLSTATE 23505).
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
