package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// FindProviderSessions implements store.Sessions.
func (s *Store) FindProviderSessions(ctx context.Context, provider, uid, sid string) ([]store.Session, error) {
	if uid == "" && sid == "" {
		return nil, errors.New("postgres: find provider sessions: a uid or a sid is required")
	}
	q := "SELECT " + sessionCols + " FROM sessions WHERE provider = $1"
	args := []any{provider}
	if uid != "" {
		args = append(args, uid)
		q += " AND provider_uid = $" + strconv.Itoa(len(args))
	}
	if sid != "" {
		args = append(args, sid)
		q += " AND provider_sid = $" + strconv.Itoa(len(args))
	}
	rows, err := s.pool.Query(ctx, q+" ORDER BY created_at, id", args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: find provider sessions: %w", err)
	}
	list, err := scanSessions(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: find provider sessions: %w", err)
	}
	return list, nil
}

// UseLogoutToken implements store.Logouts: expired records go first, so
// the primary key alone decides whether this jti was seen.
func (s *Store) UseLogoutToken(ctx context.Context, provider, jti string, expires, now time.Time) (bool, error) {
	if _, err := s.pool.Exec(ctx, "DELETE FROM logout_jtis WHERE expires_at <= $1", ts(now)); err != nil {
		return false, fmt.Errorf("postgres: forget used logout tokens: %w", err)
	}
	tag, err := s.pool.Exec(ctx, "INSERT INTO logout_jtis (provider, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
		provider, jti, ts(expires))
	if err != nil {
		return false, fmt.Errorf("postgres: record logout token: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}
