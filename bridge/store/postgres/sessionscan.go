package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// ScanSessions implements store.Admin.
func (s *Store) ScanSessions(ctx context.Context, f store.SessionFilter, after string, limit int) ([]store.Session, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+sessionCols+` FROM sessions
		WHERE id > $1 AND ($2 = '' OR user_id = $2) AND ($3 = '' OR provider = $3)
		ORDER BY id LIMIT $4`, after, f.UserID, f.Provider, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: scan sessions: %w", err)
	}
	list, err := scanSessions(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: scan sessions: %w", err)
	}
	return list, nil
}

// CountLive implements store.Admin.
func (s *Store) CountLive(ctx context.Context, now time.Time) ([]store.ProviderCount, error) {
	rows, err := s.pool.Query(ctx, `SELECT provider, COUNT(*),
		COUNT(*) FILTER (WHERE length(refresh_token_sealed) > 0)
		FROM sessions WHERE expire > $1 GROUP BY provider ORDER BY provider`, ts(now))
	if err != nil {
		return nil, fmt.Errorf("postgres: count live: %w", err)
	}
	defer rows.Close()
	var out []store.ProviderCount
	for rows.Next() {
		var c store.ProviderCount
		var n, g int64
		if err := rows.Scan(&c.Provider, &n, &g); err != nil {
			return nil, fmt.Errorf("postgres: count live: %w", err)
		}
		c.Sessions, c.Grants = int(n), int(g)
		out = append(out, c)
	}
	return out, rows.Err()
}
