package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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

// claimQuery leases the rows dueQuery selects (the same subquery, in the
// same transaction, hence the same rows) in one statement;
// claimGrantQuery leases one row unless another owner's lease is still
// running (the owner may renew).
const (
	claimQuery = `UPDATE sessions SET lease_owner = ?4, lease_until = ?5, refresh_at = ?5,
		version = version + 1 WHERE id IN (SELECT id FROM sessions
		WHERE refresh_at <= ?1 AND (lease_until IS NULL OR lease_until <= ?2)
		ORDER BY refresh_at, id LIMIT ?3) RETURNING ` + sessionCols
	claimGrantQuery = `UPDATE sessions SET lease_owner = ?1, lease_until = ?2, refresh_at = ?2,
		version = version + 1
		WHERE id = ?3 AND (lease_until IS NULL OR lease_until <= ?4 OR lease_owner = ?1 OR lease_owner = '')
		RETURNING ` + sessionCols
)

// ClaimDueGrants implements store.Grants. The selection and the lease
// write share one immediate transaction: no other writer, in this process
// or another, can claim the same rows in between. Both statements are
// prepared; the first only reads the due order, which RETURNING (showing
// the leased rows, RefreshAt overwritten) does not give.
func (s *Store) ClaimDueGrants(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.Session, error) {
	if limit <= 0 {
		return nil, nil
	}
	until := micros(now.Add(lease))
	var claimed []store.Session
	err := s.write(ctx, func(tx *sql.Tx) error {
		rows, err := tx.StmtContext(ctx, s.stmts.dueIDs).QueryContext(ctx, micros(now), micros(now), limit)
		if err != nil {
			return err
		}
		order := make(map[string]int, limit)
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			order[id] = len(order)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(order) == 0 {
			return err
		}
		rows, err = tx.StmtContext(ctx, s.stmts.claim).QueryContext(ctx, micros(now), micros(now), limit, owner, until)
		if err != nil {
			return err
		}
		updated, err := scanSessions(rows)
		if err != nil {
			return err
		}
		claimed = make([]store.Session, len(order))
		for _, u := range updated {
			i, ok := order[u.ID]
			if !ok || claimed[i].ID != "" || len(updated) != len(order) {
				return fmt.Errorf("claimed rows differ from the due rows")
			}
			claimed[i] = u
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim due grants: %w", err)
	}
	return claimed, nil
}

// ClaimGrant implements store.Grants: one prepared autocommit UPDATE; a
// miss costs a second query to tell a deleted row from a leased one.
func (s *Store) ClaimGrant(ctx context.Context, id, owner string, now time.Time, lease time.Duration) (store.Session, error) {
	s.wmu.Lock()
	claimed, err := scanSession(s.stmts.claimGrant.QueryRowContext(ctx, owner, micros(now.Add(lease)), id, micros(now)))
	s.wmu.Unlock()
	if errors.Is(err, sql.ErrNoRows) {
		err = s.missingOr(ctx, nil, id, store.ErrLeased)
	}
	if err != nil {
		return store.Session{}, wrap("claim grant", err)
	}
	return claimed, nil
}

// NextRefreshAt implements store.Grants with one index lookup.
func (s *Store) NextRefreshAt(ctx context.Context) (time.Time, bool, error) {
	var at sql.NullInt64
	err := s.stmts.nextRefresh.QueryRowContext(ctx).Scan(&at)
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
	if err := s.stmts.countDue.QueryRowContext(ctx, micros(now)).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count due: %w", err)
	}
	return n, nil
}
