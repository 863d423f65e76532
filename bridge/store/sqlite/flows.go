package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/bridge/store/internal/codec"
)

const (
	createFlowQuery = `INSERT INTO login_flows (id, provider, mode, success, failure, scopes, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	consumeFlowQuery = `DELETE FROM login_flows WHERE id = ?
		RETURNING id, provider, mode, success, failure, scopes, created_at, expires_at`
	rebindFlowQuery = `UPDATE login_flows SET id = ? WHERE id = ? AND expires_at > ?
		RETURNING id, provider, mode, success, failure, scopes, created_at, expires_at`
)

// CreateFlow implements store.Flows.
func (s *Store) CreateFlow(ctx context.Context, f store.LoginFlow) error {
	args := []any{f.ID, f.Provider, f.Mode, f.Success, f.Failure, codec.EncodeScopes(f.Scopes), micros(f.CreatedAt), f.ExpiresAt.UnixMicro()}
	err := s.writeLogin(ctx, loginWrite{
		alone: func() error {
			_, err := s.execStmt(ctx, s.stmts.createFlow, args...)
			return err
		},
		inTx: func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.StmtContext(ctx, s.stmts.createFlow).ExecContext(ctx, args...)
			return err
		},
	})
	if err != nil {
		return fmt.Errorf("sqlite: create flow: %w", err)
	}
	return nil
}

// ConsumeFlow implements store.Flows. The single DELETE ... RETURNING is
// atomic, so of many concurrent consumers exactly one gets the row. An
// expired flow is deleted as well, but reported as absent.
func (s *Store) ConsumeFlow(ctx context.Context, id string, now time.Time) (store.LoginFlow, error) {
	var (
		f                store.LoginFlow
		scopes           string
		created, expires sql.NullInt64
	)
	scan := func(r *sql.Row) error {
		return r.Scan(&f.ID, &f.Provider, &f.Mode, &f.Success, &f.Failure, &scopes, &created, &expires)
	}
	err := s.writeLogin(ctx, loginWrite{
		alone: func() error {
			defer s.lockWriter()()
			return scan(s.stmts.consumeFlow.QueryRowContext(ctx, id))
		},
		inTx: func(ctx context.Context, tx *sql.Tx) error {
			return scan(tx.StmtContext(ctx, s.stmts.consumeFlow).QueryRowContext(ctx, id))
		},
	})
	if errors.Is(err, sql.ErrNoRows) {
		return store.LoginFlow{}, store.ErrNotFound
	}
	if err != nil {
		return store.LoginFlow{}, fmt.Errorf("sqlite: consume flow: %w", err)
	}
	f.CreatedAt, f.ExpiresAt = fromMicros(created), fromMicros(expires)
	if !now.Before(f.ExpiresAt) {
		return store.LoginFlow{}, store.ErrNotFound
	}
	if f.Scopes, err = codec.DecodeScopes(scopes); err != nil {
		return store.LoginFlow{}, fmt.Errorf("sqlite: consume flow: %w", err)
	}
	return f, nil
}

// CreateLoginToken implements store.Flows.
func (s *Store) CreateLoginToken(ctx context.Context, t store.LoginToken) error {
	sess, err := codec.EncodeSession(t.Session)
	if err != nil {
		return fmt.Errorf("sqlite: create login token: %w", err)
	}
	if _, err := s.exec(ctx, "INSERT INTO login_tokens (secret_hash, user_id, expires_at, session) VALUES (?, ?, ?, ?)",
		t.SecretHash, t.UserID, t.ExpiresAt.UnixMicro(), sess); err != nil {
		return fmt.Errorf("sqlite: create login token: %w", err)
	}
	return nil
}

// ConsumeLoginToken implements store.Flows like ConsumeFlow. A wrong
// userID leaves the token in place.
func (s *Store) ConsumeLoginToken(ctx context.Context, userID string, secretHash []byte, now time.Time) (store.LoginToken, error) {
	defer s.lockWriter()()
	var (
		t       store.LoginToken
		expires int64
		sess    []byte
	)
	err := s.db.QueryRowContext(ctx, `DELETE FROM login_tokens WHERE secret_hash = ? AND user_id = ?
		RETURNING secret_hash, user_id, expires_at, session`, secretHash, userID).
		Scan(&t.SecretHash, &t.UserID, &expires, &sess)
	if errors.Is(err, sql.ErrNoRows) {
		return store.LoginToken{}, store.ErrNotFound
	}
	if err != nil {
		return store.LoginToken{}, fmt.Errorf("sqlite: consume login token: %w", err)
	}
	t.ExpiresAt = time.UnixMicro(expires).UTC()
	if !now.Before(t.ExpiresAt) {
		return store.LoginToken{}, store.ErrNotFound
	}
	if t.Session, err = codec.DecodeSession(sess); err != nil {
		return store.LoginToken{}, fmt.Errorf("sqlite: consume login token: %w", err)
	}
	return t, nil
}

// DeleteExpiredFlows implements store.Flows: one short write per table,
// each bounded by limit, so a backlog never holds the write lock long.
func (s *Store) DeleteExpiredFlows(ctx context.Context, now time.Time, limit int) (int, error) {
	var total int
	for _, q := range []string{
		"DELETE FROM login_flows WHERE id IN (SELECT id FROM login_flows WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)",
		"DELETE FROM login_tokens WHERE secret_hash IN (SELECT secret_hash FROM login_tokens WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)",
	} {
		n, err := s.exec(ctx, q, now.UnixMicro(), limit)
		if err != nil {
			return total, fmt.Errorf("sqlite: delete expired flows: %w", err)
		}
		total += n
	}
	return total, nil
}

// ClaimChore implements store.Housekeeping. The upsert only moves
// next_run when it has passed, so one of many concurrent callers wins.
func (s *Store) ClaimChore(ctx context.Context, chore, owner string, now time.Time, every time.Duration) (bool, error) {
	n, err := s.exec(ctx, `INSERT INTO chores (name, owner, next_run) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, next_run = excluded.next_run
		WHERE chores.next_run <= ?`, chore, owner, now.Add(every).UnixMicro(), now.UnixMicro())
	if err != nil {
		return false, fmt.Errorf("sqlite: claim chore: %w", err)
	}
	return n == 1, nil
}
