package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/bridge/store/internal/sessionrow"
)

// CreateSession implements store.Sessions.
func (s *Store) CreateSession(ctx context.Context, sess *store.Session) error {
	row := *sess
	row.Version = 1
	n := strings.Count(sessionCols, ",") + 1
	if _, err := s.pool.Exec(ctx, "INSERT INTO sessions ("+sessionCols+") VALUES ("+placeholders(n)+")", sessionrow.Args(&row, ts)...); err != nil {
		return fmt.Errorf("postgres: create session: %w", err)
	}
	sess.Version = 1
	return nil
}

// CreateSessions implements store.Sessions: one transaction, one
// pipelined batch.
func (s *Store) CreateSessions(ctx context.Context, list []*store.Session) error {
	q := "INSERT INTO sessions (" + sessionCols + ") VALUES (" + placeholders(strings.Count(sessionCols, ",")+1) + ")"
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, sess := range list {
			row := *sess
			row.Version = 1
			b.Queue(q, sessionrow.Args(&row, ts)...)
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return fmt.Errorf("postgres: create sessions: %w", err)
	}
	for _, sess := range list {
		sess.Version = 1
	}
	return nil
}

// GetSession implements store.Sessions.
func (s *Store) GetSession(ctx context.Context, id string) (store.Session, error) {
	sess, err := scanSession(s.pool.QueryRow(ctx, "SELECT "+sessionCols+" FROM sessions WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Session{}, store.ErrNotFound
	}
	if err != nil {
		return store.Session{}, fmt.Errorf("postgres: get session: %w", err)
	}
	return sess, nil
}

// ListSessions implements store.Sessions.
func (s *Store) ListSessions(ctx context.Context, userID string) ([]store.Session, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+sessionCols+" FROM sessions WHERE user_id = $1 ORDER BY created_at, id", userID)
	if err != nil {
		return nil, fmt.Errorf("postgres: list sessions: %w", err)
	}
	list, err := scanSessions(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: list sessions: %w", err)
	}
	return list, nil
}

// DeleteSession implements store.Sessions.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, "DELETE FROM sessions WHERE id = $1", id)
	if err != nil {
		return fmt.Errorf("postgres: delete session: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

// DeleteUserSessions implements store.Sessions.
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) (int, error) {
	tag, err := s.pool.Exec(ctx, "DELETE FROM sessions WHERE user_id = $1", userID)
	if err != nil {
		return 0, fmt.Errorf("postgres: delete user sessions: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// casQuery writes every mutable column if the version still matches; its
// parameters are sessionrow.CASOf's Args, in that order.
const casQuery = `UPDATE sessions SET
	expire = $1, updated_at = $2, access_token_sealed = $3, refresh_token_sealed = $4,
	access_token_expiry = $5, refresh_at = $6, refresh_failures = $7, lease_owner = $8, lease_until = $9,
	email_verified = $10, ip = $11, os_code = $12, os_name = $13, os_version = $14, client_type = $15,
	client_code = $16, client_name = $17, client_version = $18, client_engine = $19,
	client_engine_version = $20, device_name = $21, device_brand = $22, device_model = $23,
	country_code = $24, country_name = $25, refreshed_at = $26, version = version + 1
	WHERE id = $27 AND version = $28`

// CompareAndSwapSession implements store.Sessions. The version check and
// the write are one UPDATE; a concurrent writer of the same row makes it
// wait and then re-check the version against the committed row. Writes
// that arrive together share one transaction (see casQueue).
func (s *Store) CompareAndSwapSession(ctx context.Context, sess *store.Session) error {
	err := s.cas.Do(ctx, sessionrow.CASOf(sess, ts), s.runCASBatch)
	if err != nil {
		return wrap("compare-and-swap session", err)
	}
	sess.Version++
	return nil
}

// missingOr tells apart the two reasons a conditional write on a session
// matched no row: ErrNotFound when the row is gone, otherwise ifPresent.
func (s *Store) missingOr(ctx context.Context, id string, ifPresent error) error {
	var one int
	err := s.pool.QueryRow(ctx, "SELECT 1 FROM sessions WHERE id = $1", id).Scan(&one)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return store.ErrNotFound
	case err != nil:
		return fmt.Errorf("postgres: %w", err)
	}
	return ifPresent
}

// DeleteExpiredSessions implements store.Sessions with one bounded
// DELETE ... RETURNING; SKIP LOCKED passes rows a refresher is writing.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time, limit int) ([]store.SessionRef, error) {
	rows, err := s.pool.Query(ctx, `DELETE FROM sessions WHERE id IN
		(SELECT id FROM sessions WHERE expire < $1 ORDER BY expire LIMIT $2 FOR UPDATE SKIP LOCKED)
		RETURNING id, user_id, provider`, ts(now), limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: delete expired sessions: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.SessionRef, error) {
		var r store.SessionRef
		err := row.Scan(&r.ID, &r.UserID, &r.Provider)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: delete expired sessions: %w", err)
	}
	return out, nil
}
