package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/bridge/store/internal/codec"
	"github.com/sessionbridge/sessionbridge/bridge/store/internal/sessionrow"
)

const overCapQuery = "SELECT " + sessionCols + ` FROM sessions WHERE user_id = ?
	ORDER BY created_at DESC, id DESC LIMIT -1 OFFSET ?`

// CreateLoginSession implements store.Sessions in one BEGIN IMMEDIATE
// transaction: one commit for the user, the session and the cap (shared
// with concurrent logins through the login queue).
func (s *Store) CreateLoginSession(ctx context.Context, in store.IdentityInput, sess *store.Session, maxPerUser int, now time.Time) (store.User, []store.Session, error) {
	var (
		u       store.User
		removed []store.Session
	)
	body := func(ctx context.Context, tx *sql.Tx) (err error) {
		if u, err = s.upsertIdentityTx(ctx, tx, in, now); err != nil {
			return err
		}
		if u.Blocked {
			return store.ErrUserBlocked
		}
		row := *sess
		row.UserID, row.Version = u.ID, 1
		if _, err := tx.StmtContext(ctx, s.stmts.insertSession).ExecContext(ctx, sessionrow.Args(&row, micros)...); err != nil {
			return fmt.Errorf("insert session: %w", err)
		}
		removed, err = s.removeOverCap(ctx, tx, u.ID, maxPerUser)
		return err
	}
	err := s.writeLogin(ctx, loginWrite{
		alone: func() error { return s.write(ctx, func(tx *sql.Tx) error { return body(ctx, tx) }) },
		inTx:  body,
	})
	if err != nil {
		return store.User{}, nil, fmt.Errorf("sqlite: create login session: %w", err)
	}
	sess.UserID, sess.Version = u.ID, 1
	return u, removed, nil
}

// removeOverCap deletes a user's oldest sessions beyond max.
func (s *Store) removeOverCap(ctx context.Context, tx *sql.Tx, userID string, max int) ([]store.Session, error) {
	rows, err := tx.StmtContext(ctx, s.stmts.overCap).QueryContext(ctx, userID, max)
	if err != nil {
		return nil, fmt.Errorf("sessions over cap: %w", err)
	}
	over, err := scanSessions(rows)
	if err != nil {
		return nil, fmt.Errorf("sessions over cap: %w", err)
	}
	for _, o := range over {
		if _, err := tx.StmtContext(ctx, s.stmts.deleteSession).ExecContext(ctx, o.ID); err != nil {
			return nil, fmt.Errorf("remove session over cap: %w", err)
		}
	}
	return over, nil
}

// RebindFlow implements store.Flows with one UPDATE ... RETURNING.
func (s *Store) RebindFlow(ctx context.Context, id, newID string, now time.Time) (store.LoginFlow, error) {
	defer s.lockWriter()()
	var (
		f                store.LoginFlow
		scopes           string
		created, expires sql.NullInt64
	)
	err := s.stmts.rebindFlow.QueryRowContext(ctx, newID, id, now.UnixMicro()).
		Scan(&f.ID, &f.Provider, &f.Mode, &f.Success, &f.Failure, &scopes, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return store.LoginFlow{}, store.ErrNotFound
	}
	if err != nil {
		return store.LoginFlow{}, fmt.Errorf("sqlite: rebind flow: %w", err)
	}
	f.CreatedAt, f.ExpiresAt = fromMicros(created), fromMicros(expires)
	if f.Scopes, err = codec.DecodeScopes(scopes); err != nil {
		return store.LoginFlow{}, fmt.Errorf("sqlite: rebind flow: %w", err)
	}
	return f, nil
}
