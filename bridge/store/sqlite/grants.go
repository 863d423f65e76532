package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// Queries that must stay on the sessions_refresh_at partial index; the
// tests check their plans. "refresh_at <= ?" implies "refresh_at IS NOT
// NULL", which is what lets SQLite use the partial index.
//
// dueQuery has no "LIMIT ?": the caller stops reading after its limit
// (the index walk is lazy, so the cost is the same). SQLite's planner
// reads a bound LIMIT value, and a statement whose plan depends on a
// bound value is recompiled whenever that value is bound anew, which
// costs more than running it.
const (
	dueQuery = `SELECT id FROM sessions
		WHERE refresh_at <= ?1 AND (lease_until IS NULL OR lease_until <= ?1)
		ORDER BY refresh_at, id`
	nextQuery  = "SELECT refresh_at FROM sessions WHERE refresh_at IS NOT NULL ORDER BY refresh_at LIMIT 1"
	countQuery = "SELECT COUNT(*) FROM sessions WHERE refresh_at <= ?"
)

// claimQuery leases the rows whose IDs the JSON array ?1 lists, in one
// statement; claimGrantQuery leases one row unless another owner's lease
// is still running (the owner may renew).
const (
	claimQuery = `UPDATE sessions SET lease_owner = ?2, lease_until = ?3, refresh_at = ?3,
		version = version + 1 WHERE id IN (SELECT value FROM json_each(?1)) RETURNING ` + sessionCols
	claimGrantQuery = `UPDATE sessions SET lease_owner = ?1, lease_until = ?2, refresh_at = ?2,
		version = version + 1
		WHERE id = ?3 AND (lease_until IS NULL OR lease_until <= ?4 OR lease_owner = ?1 OR lease_owner = '')
		RETURNING ` + sessionCols
)

// ClaimDueGrants implements store.Grants. The selection and the lease
// write share one immediate transaction: no other writer, in this process
// or another, can claim the same rows in between. Both statements are
// prepared, and the lease is one UPDATE for the whole batch.
func (s *Store) ClaimDueGrants(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.Session, error) {
	if limit <= 0 {
		return nil, nil
	}
	until := micros(now.Add(lease))
	var claimed []store.Session
	err := s.write(ctx, func(tx *sql.Tx) error {
		rows, err := tx.StmtContext(ctx, s.stmts.dueIDs).QueryContext(ctx, micros(now))
		if err != nil {
			return err
		}
		var ids []string
		for len(ids) < limit && rows.Next() {
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
		list, err := json.Marshal(ids)
		if err != nil {
			return err
		}
		rows, err = tx.StmtContext(ctx, s.stmts.claim).QueryContext(ctx, string(list), owner, until)
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
			u, ok := byID[id]
			if !ok {
				return fmt.Errorf("due session %s was not leased", id)
			}
			claimed = append(claimed, u)
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
	unlock := s.lockWriter()
	claimed, err := scanSession(s.stmts.claimGrant.QueryRowContext(ctx, owner, micros(now.Add(lease)), id, micros(now)))
	unlock()
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
