package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/bridge/store/internal/sessionrow"
)

// insertSessionQuery inserts every sessionCols column.
var insertSessionQuery = "INSERT INTO sessions (" + sessionCols + ") VALUES (" +
	strings.Repeat("?, ", strings.Count(sessionCols, ",")) + "?)"

// CreateSession implements store.Sessions.
func (s *Store) CreateSession(ctx context.Context, sess *store.Session) error {
	row := *sess
	row.Version = 1
	if _, err := s.execStmt(ctx, s.stmts.insertSession, sessionrow.Args(&row, micros)...); err != nil {
		return fmt.Errorf("sqlite: create session: %w", err)
	}
	sess.Version = 1
	return nil
}

// CreateSessions implements store.Sessions.
func (s *Store) CreateSessions(ctx context.Context, list []*store.Session) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		stmt := tx.StmtContext(ctx, s.stmts.insertSession)
		for _, sess := range list {
			row := *sess
			row.Version = 1
			if _, err := stmt.ExecContext(ctx, sessionrow.Args(&row, micros)...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: create sessions: %w", err)
	}
	for _, sess := range list {
		sess.Version = 1
	}
	return nil
}

// GetSession implements store.Sessions.
func (s *Store) GetSession(ctx context.Context, id string) (store.Session, error) {
	sess, err := scanSession(s.stmts.getSession.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Session{}, store.ErrNotFound
	}
	if err != nil {
		return store.Session{}, fmt.Errorf("sqlite: get session: %w", err)
	}
	return sess, nil
}

// ListSessions implements store.Sessions.
func (s *Store) ListSessions(ctx context.Context, userID string) ([]store.Session, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+sessionCols+" FROM sessions WHERE user_id = ? ORDER BY created_at, id", userID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list sessions: %w", err)
	}
	list, err := scanSessions(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list sessions: %w", err)
	}
	return list, nil
}

// DeleteSession implements store.Sessions.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	n, err := s.execStmt(ctx, s.stmts.deleteSession, id)
	if err != nil {
		return fmt.Errorf("sqlite: delete session: %w", err)
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// DeleteUserSessions implements store.Sessions.
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) (int, error) {
	n, err := s.exec(ctx, "DELETE FROM sessions WHERE user_id = ?", userID)
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete user sessions: %w", err)
	}
	return n, nil
}

// casQuery writes every mutable column if the version still matches; its
// parameters are sessionrow.CASOf's Args, in that order.
const casQuery = `UPDATE sessions SET
	expire = ?, updated_at = ?, access_token_sealed = ?, refresh_token_sealed = ?,
	access_token_expiry = ?, refresh_at = ?, refresh_failures = ?, lease_owner = ?, lease_until = ?,
	email_verified = ?, ip = ?, os_code = ?, os_name = ?, os_version = ?, client_type = ?,
	client_code = ?, client_name = ?, client_version = ?, client_engine = ?,
	client_engine_version = ?, device_name = ?, device_brand = ?, device_model = ?,
	country_code = ?, country_name = ?, refreshed_at = ?, version = version + 1
	WHERE id = ? AND version = ?`

// CompareAndSwapSession implements store.Sessions. It is the refresher's
// one write per refresh: a prepared UPDATE, atomic on its own, committed
// together with the writes queued behind it (see casQueue). Only a miss
// costs a second query, to tell a deleted row from a moved version.
func (s *Store) CompareAndSwapSession(ctx context.Context, sess *store.Session) error {
	err := s.cas.Do(ctx, sessionrow.CASOf(sess, micros), s.runCASBatch)
	if err != nil {
		return wrap("compare-and-swap session", err)
	}
	sess.Version++
	return nil
}

// missingOr tells apart the two reasons a conditional write on a session
// matched no row: ErrNotFound when the row is gone, otherwise ifPresent.
// Inside the write's transaction (tx != nil) the answer is exact; after
// an autocommit write it describes the row as it is now, which a caller
// cannot tell from the row as it was a moment earlier (a row once gone
// does not come back: IDs are random).
func (s *Store) missingOr(ctx context.Context, tx *sql.Tx, id string, ifPresent error) error {
	stmt := s.stmts.sessionExists
	if tx != nil {
		stmt = tx.StmtContext(ctx, stmt)
	}
	var one int
	err := stmt.QueryRowContext(ctx, id).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.ErrNotFound
	case err != nil:
		return err
	}
	return ifPresent
}

// wrap prefixes unexpected errors and returns the store's sentinel errors
// bare, so that messages stay short where callers branch on them.
func wrap(op string, err error) error {
	for _, sentinel := range []error{store.ErrNotFound, store.ErrConflict, store.ErrLeased} {
		if err == sentinel {
			return err
		}
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// DeleteExpiredSessions implements store.Sessions with one bounded
// DELETE ... RETURNING (the sessions_expire index finds the rows).
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time, limit int) ([]store.SessionRef, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	rows, err := s.db.QueryContext(ctx, `DELETE FROM sessions WHERE id IN
		(SELECT id FROM sessions WHERE expire < ? ORDER BY expire LIMIT ?)
		RETURNING id, user_id, provider`, micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: delete expired sessions: %w", err)
	}
	defer rows.Close()
	var out []store.SessionRef
	for rows.Next() {
		var r store.SessionRef
		if err := rows.Scan(&r.ID, &r.UserID, &r.Provider); err != nil {
			return out, fmt.Errorf("sqlite: delete expired sessions: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("sqlite: delete expired sessions: %w", err)
	}
	return out, nil
}
