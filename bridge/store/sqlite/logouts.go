package sqlite

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// FindProviderSessions implements store.Sessions.
func (s *Store) FindProviderSessions(ctx context.Context, provider, uid, sid string) ([]store.Session, error) {
	if uid == "" && sid == "" {
		return nil, errors.New("sqlite: find provider sessions: a uid or a sid is required")
	}
	q := "SELECT " + sessionCols + " FROM sessions WHERE provider = ?"
	args := []any{provider}
	if uid != "" {
		q += " AND provider_uid = ?"
		args = append(args, uid)
	}
	if sid != "" {
		q += " AND provider_sid = ?"
		args = append(args, sid)
	}
	rows, err := s.db.QueryContext(ctx, q+" ORDER BY created_at, id", args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: find provider sessions: %w", err)
	}
	list, err := scanSessions(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlite: find provider sessions: %w", err)
	}
	return list, nil
}

// UseLogoutToken implements store.Logouts: expired records go first, so
// the primary key alone decides whether this jti was seen.
func (s *Store) UseLogoutToken(ctx context.Context, provider, jti string, expires, now time.Time) (bool, error) {
	if _, err := s.exec(ctx, "DELETE FROM logout_jtis WHERE expires_at <= ?", micros(now)); err != nil {
		return false, fmt.Errorf("sqlite: forget used logout tokens: %w", err)
	}
	n, err := s.exec(ctx, "INSERT INTO logout_jtis (provider, jti, expires_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
		provider, jti, expires.UnixMicro())
	if err != nil {
		return false, fmt.Errorf("sqlite: record logout token: %w", err)
	}
	return n == 1, nil
}
