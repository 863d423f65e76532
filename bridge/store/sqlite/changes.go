package sqlite

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// maxChangesPerPoll bounds one ChangesSince answer; when it is reached
// the batch says More and the caller polls again from its cursor.
const maxChangesPerPoll = 10000

// ChangesSince implements store.Changes. The cursor is the next seq of
// the changes table to read, in decimal: SQLite commits one writer at a
// time, so a row with a lower seq than one already seen is never
// committed later.
func (s *Store) ChangesSince(ctx context.Context, cursor string) (store.ChangeBatch, error) {
	if cursor == "" {
		var last int64
		err := s.db.QueryRowContext(ctx, "SELECT COALESCE(MAX(seq), 0) FROM changes").Scan(&last)
		if err != nil {
			return store.ChangeBatch{}, fmt.Errorf("sqlite: read changes: %w", err)
		}
		return store.ChangeBatch{Cursor: strconv.FormatInt(last+1, 10)}, nil
	}
	next, err := strconv.ParseInt(cursor, 10, 64)
	if err != nil || next <= 0 {
		return store.ChangeBatch{}, fmt.Errorf("sqlite: read changes: bad cursor %q", cursor)
	}
	rows, err := s.stmts.changes.QueryContext(ctx, next, maxChangesPerPoll)
	if err != nil {
		return store.ChangeBatch{}, fmt.Errorf("sqlite: read changes: %w", err)
	}
	defer rows.Close()
	var b store.ChangeBatch
	n := 0
	for rows.Next() {
		var kind, id string
		var seq int64
		if err := rows.Scan(&seq, &kind, &id); err != nil {
			return store.ChangeBatch{}, fmt.Errorf("sqlite: read changes: %w", err)
		}
		n++
		next = seq + 1
		b.Add(kind, id)
	}
	if err := rows.Err(); err != nil {
		return store.ChangeBatch{}, fmt.Errorf("sqlite: read changes: %w", err)
	}
	b.More = n == maxChangesPerPoll
	b.Cursor = strconv.FormatInt(next, 10)
	return b, nil
}

// PruneChanges implements store.Changes (the changes' at is unixepoch()).
func (s *Store) PruneChanges(ctx context.Context, age time.Duration) (int, error) {
	n, err := s.exec(ctx, "DELETE FROM changes WHERE at < unixepoch() - ?", int64(age/time.Second))
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune changes: %w", err)
	}
	return n, nil
}

// LocalWrites implements store.Changes.
func (s *Store) LocalWrites() uint64 { return s.writes.Load() }
