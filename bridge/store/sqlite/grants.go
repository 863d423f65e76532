package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// Queries that must stay on the sessions_refresh_at partial index; the
// tests check their plans. "refresh_at <= ?" implies "refresh_at IS NOT
// NULL", which is what lets SQLite use the partial index.
const (
	dueQuery = `SELECT id FROM sessions
		WHERE refresh_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
		ORDER BY refresh_at, id LIMIT ?`
	nextQuery  = "SELECT refresh_at FROM sessions WHERE refresh_at IS NOT NULL ORDER BY refresh_at LIMIT 1"
	countQuery = "SELECT COUNT(*) FROM sessions WHERE refresh_at <= ?"
)

// ClaimDueGrants implements store.Grants. The selection and the lease
// write share one immediate transaction: no other writer, in this process
// or another, can claim the same rows in between.
func (s *Store) ClaimDueGrants(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.Session, error) {
	if limit <= 0 {
		return nil, nil
	}
	until := micros(now.Add(lease))
	var claimed []store.Session
	err := s.write(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, dueQuery, micros(now), micros(now), limit)
		if err != nil {
			return err
		}
		var ids []any
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(ids) == 0 {
			return err
		}
		args := append([]any{owner, until, until}, ids...)
		rows, err = tx.QueryContext(ctx, `UPDATE sessions SET lease_owner = ?, lease_until = ?, refresh_at = ?,
			version = version + 1 WHERE id IN (?`+strings.Repeat(", ?", len(ids)-1)+`) RETURNING `+sessionCols, args...)
		if err != nil {
			return err
		}
		updated, err := scanSessions(rows)
		if err != nil {
			return err
		}
		// RETURNING has no defined order; give the rows back in the
		// order they were due.
		byID := make(map[string]store.Session, len(updated))
		for _, u := range updated {
			byID[u.ID] = u
		}
		claimed = make([]store.Session, 0, len(ids))
		for _, id := range ids {
			if u, ok := byID[id.(string)]; ok {
				claimed = append(claimed, u)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim due grants: %w", err)
	}
	return claimed, nil
}

// ClaimGrant implements store.Grants. The current owner may renew its lease.
func (s *Store) ClaimGrant(ctx context.Context, id, owner string, now time.Time, lease time.Duration) (store.Session, error) {
	until := micros(now.Add(lease))
	var claimed store.Session
	err := s.write(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE sessions SET lease_owner = ?, lease_until = ?, refresh_at = ?,
			version = version + 1
			WHERE id = ? AND (lease_until IS NULL OR lease_until <= ? OR lease_owner = ? OR lease_owner = '')
			RETURNING `+sessionCols, owner, until, until, id, micros(now), owner)
		if err != nil {
			return err
		}
		got, err := scanSessions(rows)
		if err != nil {
			return err
		}
		if len(got) == 1 {
			claimed = got[0]
			return nil
		}
		return missingOr(ctx, tx, id, store.ErrLeased)
	})
	if err != nil {
		return store.Session{}, wrap("claim grant", err)
	}
	return claimed, nil
}

// NextRefreshAt implements store.Grants with one index lookup.
func (s *Store) NextRefreshAt(ctx context.Context) (time.Time, bool, error) {
	var at sql.NullInt64
	err := s.nextRefresh.QueryRowContext(ctx).Scan(&at)
	if err == sql.ErrNoRows {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("sqlite: next refresh: %w", err)
	}
	return fromMicros(at), true, nil
}

// CountDue implements store.Grants.
func (s *Store) CountDue(ctx context.Context, now time.Time) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, countQuery, micros(now)).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count due: %w", err)
	}
	return n, nil
}
