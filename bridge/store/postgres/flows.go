package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/bridge/store/internal/codec"
)

// CreateFlow implements store.Flows.
func (s *Store) CreateFlow(ctx context.Context, f store.LoginFlow) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO login_flows (id, provider, mode, success, failure, scopes, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		f.ID, f.Provider, f.Mode, f.Success, f.Failure, codec.EncodeScopes(f.Scopes), ts(f.CreatedAt), ts(f.ExpiresAt))
	if err != nil {
		return fmt.Errorf("postgres: create flow: %w", err)
	}
	return nil
}

// ConsumeFlow implements store.Flows. Of concurrent DELETE ... RETURNING
// statements on one row exactly one returns it. An expired flow is
// deleted as well, but reported as absent.
func (s *Store) ConsumeFlow(ctx context.Context, id string, now time.Time) (store.LoginFlow, error) {
	var (
		f                store.LoginFlow
		scopes           string
		created, expires pgtype.Timestamptz
	)
	err := s.pool.QueryRow(ctx, `DELETE FROM login_flows WHERE id = $1
		RETURNING id, provider, mode, success, failure, scopes, created_at, expires_at`, id).
		Scan(&f.ID, &f.Provider, &f.Mode, &f.Success, &f.Failure, &scopes, &created, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.LoginFlow{}, store.ErrNotFound
	}
	if err != nil {
		return store.LoginFlow{}, fmt.Errorf("postgres: consume flow: %w", err)
	}
	f.CreatedAt, f.ExpiresAt = fromTS(created), fromTS(expires)
	if !now.Before(f.ExpiresAt) {
		return store.LoginFlow{}, store.ErrNotFound
	}
	if f.Scopes, err = codec.DecodeScopes(scopes); err != nil {
		return store.LoginFlow{}, fmt.Errorf("postgres: consume flow: %w", err)
	}
	return f, nil
}

// CreateLoginToken implements store.Flows.
func (s *Store) CreateLoginToken(ctx context.Context, t store.LoginToken) error {
	sess, err := codec.EncodeSession(t.Session)
	if err != nil {
		return fmt.Errorf("postgres: create login token: %w", err)
	}
	if _, err := s.pool.Exec(ctx, "INSERT INTO login_tokens (secret_hash, user_id, expires_at, session) VALUES ($1, $2, $3, $4)",
		t.SecretHash, t.UserID, ts(t.ExpiresAt), sess); err != nil {
		return fmt.Errorf("postgres: create login token: %w", err)
	}
	return nil
}

// ConsumeLoginToken implements store.Flows like ConsumeFlow. A wrong
// userID leaves the token in place.
func (s *Store) ConsumeLoginToken(ctx context.Context, userID string, secretHash []byte, now time.Time) (store.LoginToken, error) {
	var (
		t       store.LoginToken
		expires pgtype.Timestamptz
		sess    []byte
	)
	err := s.pool.QueryRow(ctx, `DELETE FROM login_tokens WHERE secret_hash = $1 AND user_id = $2
		RETURNING secret_hash, user_id, expires_at, session`, secretHash, userID).
		Scan(&t.SecretHash, &t.UserID, &expires, &sess)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.LoginToken{}, store.ErrNotFound
	}
	if err != nil {
		return store.LoginToken{}, fmt.Errorf("postgres: consume login token: %w", err)
	}
	t.ExpiresAt = fromTS(expires)
	if !now.Before(t.ExpiresAt) {
		return store.LoginToken{}, store.ErrNotFound
	}
	if t.Session, err = codec.DecodeSession(sess); err != nil {
		return store.LoginToken{}, fmt.Errorf("postgres: consume login token: %w", err)
	}
	return t, nil
}

// DeleteExpiredFlows implements store.Flows: one short statement per
// table, each bounded by limit; SKIP LOCKED lets concurrent janitors (or a
// login consuming its flow) pass each other instead of waiting.
func (s *Store) DeleteExpiredFlows(ctx context.Context, now time.Time, limit int) (int, error) {
	var total int64
	for _, q := range []string{
		"DELETE FROM login_flows WHERE id IN (SELECT id FROM login_flows WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)",
		"DELETE FROM login_tokens WHERE secret_hash IN (SELECT secret_hash FROM login_tokens WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)",
	} {
		tag, err := s.pool.Exec(ctx, q, ts(now), limit)
		if err != nil {
			return int(total), fmt.Errorf("postgres: delete expired flows: %w", err)
		}
		total += tag.RowsAffected()
	}
	return int(total), nil
}

// ClaimChore implements store.Housekeeping. The upsert only moves
// next_run when it has passed, so one of many concurrent callers wins.
func (s *Store) ClaimChore(ctx context.Context, chore, owner string, now time.Time, every time.Duration) (bool, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO chores (name, owner, next_run) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, next_run = excluded.next_run
		WHERE chores.next_run <= $4`, chore, owner, ts(now.Add(every)), ts(now))
	if err != nil {
		return false, fmt.Errorf("postgres: claim chore: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}
