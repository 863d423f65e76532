package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/bridge/store/internal/codec"
	"github.com/sessionbridge/sessionbridge/bridge/store/internal/sessionrow"
)

// CreateLoginSession implements store.Sessions in one transaction (one
// commit), retried like UpsertIdentity when a concurrent first login of
// the same account wins the identity.
func (s *Store) CreateLoginSession(ctx context.Context, in store.IdentityInput, sess *store.Session, maxPerUser int, now time.Time) (store.User, []store.Session, error) {
	u, removed, err := s.createKnownLoginSession(ctx, in, sess, maxPerUser, now)
	if !errors.Is(err, errSlowLogin) {
		if err != nil {
			return store.User{}, nil, fmt.Errorf("postgres: create login session: %w", err)
		}
		return u, removed, nil
	}
	return s.createLoginSessionTx(ctx, in, sess, maxPerUser, now)
}

// createLoginSessionTx is CreateLoginSession in an explicit transaction,
// for the logins the batch does not cover (see createKnownLoginSession).
func (s *Store) createLoginSessionTx(ctx context.Context, in store.IdentityInput, sess *store.Session, maxPerUser int, now time.Time) (store.User, []store.Session, error) {
	for attempt := 0; ; attempt++ {
		var (
			u       store.User
			removed []store.Session
		)
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) (err error) {
			if u, err = upsertIdentityTx(ctx, tx, in, now); err != nil {
				return err
			}
			if u.Blocked {
				return store.ErrUserBlocked
			}
			row := *sess
			row.UserID, row.Version = u.ID, 1
			n := strings.Count(sessionCols, ",") + 1
			if _, err := tx.Exec(ctx, "INSERT INTO sessions ("+sessionCols+") VALUES ("+placeholders(n)+")", sessionrow.Args(&row, ts)...); err != nil {
				return fmt.Errorf("insert session: %w", err)
			}
			removed, err = removeOverCap(ctx, tx, u.ID, maxPerUser)
			return err
		})
		if errors.Is(err, errRaced) && attempt < 3 {
			continue
		}
		if err != nil {
			return store.User{}, nil, fmt.Errorf("postgres: create login session: %w", err)
		}
		sess.UserID, sess.Version = u.ID, 1
		return u, removed, nil
	}
}

// overCapSQL deletes the oldest sessions of the user that userID (an SQL
// expression) names beyond the newest $2, returning them.
func overCapSQL(userID string) string {
	return "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE user_id = " + userID +
		" ORDER BY created_at DESC, id DESC OFFSET $2) RETURNING " + sessionCols
}

// removeOverCap deletes a user's oldest sessions beyond max.
func removeOverCap(ctx context.Context, tx pgx.Tx, userID string, max int) ([]store.Session, error) {
	rows, err := tx.Query(ctx, overCapSQL("$1"), userID, max)
	if err != nil {
		return nil, fmt.Errorf("remove sessions over cap: %w", err)
	}
	over, err := scanSessions(rows)
	if err != nil {
		return nil, fmt.Errorf("remove sessions over cap: %w", err)
	}
	return over, nil
}

// RebindFlow implements store.Flows with one UPDATE ... RETURNING.
func (s *Store) RebindFlow(ctx context.Context, id, newID string, now time.Time) (store.LoginFlow, error) {
	var (
		f                store.LoginFlow
		scopes           string
		created, expires pgtype.Timestamptz
	)
	err := s.pool.QueryRow(ctx, `UPDATE login_flows SET id = $1 WHERE id = $2 AND expires_at > $3
		RETURNING id, provider, mode, success, failure, scopes, created_at, expires_at`, newID, id, ts(now)).
		Scan(&f.ID, &f.Provider, &f.Mode, &f.Success, &f.Failure, &scopes, &created, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.LoginFlow{}, store.ErrNotFound
	}
	if err != nil {
		return store.LoginFlow{}, fmt.Errorf("postgres: rebind flow: %w", err)
	}
	f.CreatedAt, f.ExpiresAt = fromTS(created), fromTS(expires)
	if f.Scopes, err = codec.DecodeScopes(scopes); err != nil {
		return store.LoginFlow{}, fmt.Errorf("postgres: rebind flow: %w", err)
	}
	return f, nil
}
