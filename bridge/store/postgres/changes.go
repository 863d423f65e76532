package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// changesChannel is the NOTIFY channel of migration 0003; its payload is
// the schema, so deployments sharing a database wake only their own.
const changesChannel = "sessionbridge_changes"

// changesQuery reads, in one statement (one snapshot), the oldest
// transaction still running and every change whose transaction is not
// older than the previous poll's. A transaction that had not committed at
// the previous poll has an ID at least that poll's xmin, so its changes
// are found once it commits; a change is reported again while it stays
// within that window, which a cache bears (an extra eviction).
const changesQuery = `WITH snap AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin)
	SELECT snap.xmin::text::bigint, c.kind, c.id
	FROM snap LEFT JOIN changes c ON c.txid >= $1::text::xid8`

// ChangesSince implements store.Changes. The cursor is a transaction ID
// (xid8), the xmin of the previous poll's snapshot; 0 starts.
func (s *Store) ChangesSince(ctx context.Context, cursor int64) (store.ChangeBatch, error) {
	if cursor <= 0 {
		var xmin int64
		err := s.pool.QueryRow(ctx, "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint").Scan(&xmin)
		if err != nil {
			return store.ChangeBatch{}, fmt.Errorf("postgres: read changes: %w", err)
		}
		return store.ChangeBatch{Cursor: xmin}, nil
	}
	rows, err := s.pool.Query(ctx, changesQuery, fmt.Sprint(cursor))
	if err != nil {
		return store.ChangeBatch{}, fmt.Errorf("postgres: read changes: %w", err)
	}
	defer rows.Close()
	b := store.ChangeBatch{Cursor: cursor}
	for rows.Next() {
		var kind, id *string
		if err := rows.Scan(&b.Cursor, &kind, &id); err != nil {
			return store.ChangeBatch{}, fmt.Errorf("postgres: read changes: %w", err)
		}
		switch {
		case kind == nil || id == nil: // no change: the snapshot row alone
		case *kind == "u":
			b.Users = append(b.Users, *id)
		default:
			b.Sessions = append(b.Sessions, *id)
		}
	}
	if err := rows.Err(); err != nil {
		return store.ChangeBatch{}, fmt.Errorf("postgres: read changes: %w", err)
	}
	return b, nil
}

// PruneChanges implements store.Changes.
func (s *Store) PruneChanges(ctx context.Context, before time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, "DELETE FROM changes WHERE at < $1", ts(before))
	if err != nil {
		return 0, fmt.Errorf("postgres: prune changes: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// LocalWrites implements store.Changes.
func (s *Store) LocalWrites() uint64 { return s.writes.n.Load() }

var _ store.ChangeListener = (*Store)(nil)

// ListenChanges implements store.ChangeListener on a connection of its
// own (outside the pool: LISTEN belongs to one session). Its
// application_name is "sessionbridge changes <schema>".
func (s *Store) ListenChanges(ctx context.Context, wake func()) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return fmt.Errorf("postgres: listen for changes: %w", err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	var schema string
	if err := conn.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return fmt.Errorf("postgres: listen for changes: %w", err)
	}
	name := "sessionbridge changes " + schema
	if _, err := conn.Exec(ctx, "SELECT set_config('application_name', left($1, 63), false)", name); err != nil {
		return fmt.Errorf("postgres: listen for changes: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+changesChannel); err != nil {
		return fmt.Errorf("postgres: listen for changes: %w", err)
	}
	wake()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("postgres: listen for changes: %w", err)
		}
		if n.Payload == schema {
			wake()
		}
	}
}

// writeCounter is the pool's query tracer behind LocalWrites: it counts
// every statement that is not a plain SELECT once it has completed (an
// autocommit write, or the COMMIT of a transaction, in a batch or not).
type writeCounter struct{ n atomic.Uint64 }

var (
	_ pgx.QueryTracer = (*writeCounter)(nil)
	_ pgx.BatchTracer = (*writeCounter)(nil)
)

func (w *writeCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

func (w *writeCounter) TraceQueryEnd(_ context.Context, _ *pgx.Conn, d pgx.TraceQueryEndData) {
	w.count(d.CommandTag.Select(), d.Err)
}

func (w *writeCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

func (w *writeCounter) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	w.count(d.CommandTag.Select(), d.Err)
}

func (w *writeCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// count counts a statement unless it was a successful SELECT; a failed
// one counts too, because a failure may hide a commit.
func (w *writeCounter) count(selected bool, err error) {
	if !selected || err != nil && !errors.Is(err, pgx.ErrNoRows) {
		w.n.Add(1)
	}
}
