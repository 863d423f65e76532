package postgres

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/bridge/store/internal/sessionrow"
)

// claimQuery locks up to $2 due rows, skipping rows another claimer has
// locked, and leases them in the same statement. It returns each row's
// RefreshAt from before the claim so the caller can order by it. Under
// READ COMMITTED a locked row is re-checked against its latest committed
// version, so a row claimed a moment ago (RefreshAt moved into the
// future) is not taken again.
var claimQuery = `WITH due AS (
		SELECT id, refresh_at FROM sessions
		WHERE refresh_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)
		ORDER BY refresh_at, id LIMIT $2
		FOR UPDATE SKIP LOCKED)
	UPDATE sessions s SET lease_owner = $3, lease_until = $4, refresh_at = $4, version = s.version + 1
	FROM due WHERE s.id = due.id
	RETURNING due.refresh_at, ` + qualified("s")

// ClaimDueGrants implements store.Grants.
func (s *Store) ClaimDueGrants(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.Session, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, claimQuery, ts(now), limit, owner, ts(now.Add(lease)))
	if err != nil {
		return nil, fmt.Errorf("postgres: claim due grants: %w", err)
	}
	defer rows.Close()
	type claimed struct {
		due  pgtype.Timestamptz
		sess store.Session
	}
	var got []claimed
	for rows.Next() {
		var c claimed
		dest, finish := sessionrow.Dest(&c.sess, fromTS)
		if err := rows.Scan(append([]any{&c.due}, dest...)...); err != nil {
			return nil, fmt.Errorf("postgres: claim due grants: %w", err)
		}
		finish()
		got = append(got, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: claim due grants: %w", err)
	}
	sort.Slice(got, func(i, j int) bool {
		if !got[i].due.Time.Equal(got[j].due.Time) {
			return got[i].due.Time.Before(got[j].due.Time)
		}
		return got[i].sess.ID < got[j].sess.ID
	})
	out := make([]store.Session, len(got))
	for i, c := range got {
		out[i] = c.sess
	}
	return out, nil
}

// ClaimGrant implements store.Grants. The current owner may renew its lease.
func (s *Store) ClaimGrant(ctx context.Context, id, owner string, now time.Time, lease time.Duration) (store.Session, error) {
	until := ts(now.Add(lease))
	sess, err := scanSession(s.pool.QueryRow(ctx, `UPDATE sessions SET lease_owner = $1, lease_until = $2, refresh_at = $2,
		version = version + 1
		WHERE id = $3 AND (lease_until IS NULL OR lease_until <= $4 OR lease_owner = $1 OR lease_owner = '')
		RETURNING `+sessionCols, owner, until, id, ts(now)))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Session{}, s.missingOr(ctx, id, store.ErrLeased)
	}
	if err != nil {
		return store.Session{}, fmt.Errorf("postgres: claim grant: %w", err)
	}
	return sess, nil
}

// NextRefreshAt implements store.Grants with one index lookup.
func (s *Store) NextRefreshAt(ctx context.Context) (time.Time, bool, error) {
	var at pgtype.Timestamptz
	err := s.pool.QueryRow(ctx, "SELECT refresh_at FROM sessions WHERE refresh_at IS NOT NULL ORDER BY refresh_at LIMIT 1").Scan(&at)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("postgres: next refresh: %w", err)
	}
	return fromTS(at), true, nil
}

// CountDue implements store.Grants.
func (s *Store) CountDue(ctx context.Context, now time.Time) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, "SELECT COUNT(*) FROM sessions WHERE refresh_at <= $1", ts(now)).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: count due: %w", err)
	}
	return n, nil
}
