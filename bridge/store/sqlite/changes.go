package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// maxChangesPerPoll bounds one ChangesSince answer; the cursor then points
// at the last row returned and the caller polls again.
const maxChangesPerPoll = 10000

// ChangesSince implements store.Changes. The cursor is the next seq of
// the changes table to read (so never 0): SQLite commits one writer at a time, so a row with a lower
// seq than one already seen is never committed later.
func (s *Store) ChangesSince(ctx context.Context, cursor int64) (store.ChangeBatch, error) {
	if cursor <= 0 {
		var last int64
		err := s.db.QueryRowContext(ctx, "SELECT COALESCE(MAX(seq), 0) FROM changes").Scan(&last)
		if err != nil {
			return store.ChangeBatch{}, fmt.Errorf("sqlite: read changes: %w", err)
		}
		return store.ChangeBatch{Cursor: last + 1}, nil
	}
	rows, err := s.stmts.changes.QueryContext(ctx, cursor, maxChangesPerPoll)
	if err != nil {
		return store.ChangeBatch{}, fmt.Errorf("sqlite: read changes: %w", err)
	}
	defer rows.Close()
	b := store.ChangeBatch{Cursor: cursor}
	for rows.Next() {
		var kind, id string
		var seq int64
		if err := rows.Scan(&seq, &kind, &id); err != nil {
			return store.ChangeBatch{}, fmt.Errorf("sqlite: read changes: %w", err)
		}
		b.Cursor = seq + 1
		if kind == "u" {
			b.Users = append(b.Users, id)
		} else {
			b.Sessions = append(b.Sessions, id)
		}
	}
	if err := rows.Err(); err != nil {
		return store.ChangeBatch{}, fmt.Errorf("sqlite: read changes: %w", err)
	}
	return b, nil
}

// PruneChanges implements store.Changes.
func (s *Store) PruneChanges(ctx context.Context, before time.Time) (int, error) {
	n, err := s.exec(ctx, "DELETE FROM changes WHERE at < ?", before.Unix())
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune changes: %w", err)
	}
	return n, nil
}

// LocalWrites implements store.Changes.
func (s *Store) LocalWrites() uint64 { return s.writes.Load() }
