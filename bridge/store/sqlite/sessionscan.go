package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// ScanSessions implements store.Admin.
func (s *Store) ScanSessions(ctx context.Context, f store.SessionFilter, after string, limit int) ([]store.Session, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+sessionCols+` FROM sessions
		WHERE id > ?1 AND (?2 = '' OR user_id = ?2) AND (?3 = '' OR provider = ?3)
		ORDER BY id LIMIT ?4`, after, f.UserID, f.Provider, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: scan sessions: %w", err)
	}
	list, err := scanSessions(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlite: scan sessions: %w", err)
	}
	return list, nil
}

// CountLive implements store.Admin.
func (s *Store) CountLive(ctx context.Context, now time.Time) ([]store.ProviderCount, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT provider, COUNT(*),
		COALESCE(SUM(CASE WHEN length(refresh_token_sealed) > 0 THEN 1 ELSE 0 END), 0)
		FROM sessions WHERE expire > ? GROUP BY provider ORDER BY provider`, micros(now))
	if err != nil {
		return nil, fmt.Errorf("sqlite: count live: %w", err)
	}
	defer rows.Close()
	var out []store.ProviderCount
	for rows.Next() {
		var c store.ProviderCount
		if err := rows.Scan(&c.Provider, &c.Sessions, &c.Grants); err != nil {
			return nil, fmt.Errorf("sqlite: count live: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
