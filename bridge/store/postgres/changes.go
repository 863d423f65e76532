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

// maxChangesPerPoll bounds one ChangesSince answer. A snapshot cursor
// cannot stop half way, so a poll that finds more answers All instead
// (the reader drops everything) and moves on to its snapshot.
const maxChangesPerPoll = 10000

// changesQuery reads, in one statement (so under one snapshot, the one
// pg_current_snapshot returns), that snapshot and the changes visible in
// it that were not visible in the previous poll's snapshot ($1): exactly
// the changes whose transactions committed in between. Nothing is missed:
// a transaction not committed at the previous poll is not visible in its
// snapshot (its txid is in that snapshot's running list, or at least its
// xmax), so its changes are selected by the first poll that sees them
// committed; and nothing is reported twice, since the next poll compares
// against this snapshot. The txid >= xmin bound only lets the index skip
// what every snapshot since has seen (a txid below xmin is visible, or
// aborted): a transaction left open elsewhere holds xmin back, which makes
// the scan longer, never the answer.
const changesQuery = `WITH snap AS (SELECT pg_current_snapshot() AS cur)
	SELECT snap.cur::text, c.kind, c.id
	FROM snap LEFT JOIN LATERAL (
		SELECT kind, id FROM changes
		WHERE txid >= pg_snapshot_xmin($1::pg_snapshot) AND NOT pg_visible_in_snapshot(txid, $1::pg_snapshot)
		LIMIT $2) c ON true`

// ChangesSince implements store.Changes. The cursor is the previous
// poll's snapshot (pg_snapshot text); "" starts.
func (s *Store) ChangesSince(ctx context.Context, cursor string) (store.ChangeBatch, error) {
	if cursor == "" {
		var snap string
		err := s.pool.QueryRow(ctx, "SELECT pg_current_snapshot()::text").Scan(&snap)
		if err != nil {
			return store.ChangeBatch{}, fmt.Errorf("postgres: read changes: %w", err)
		}
		return store.ChangeBatch{Cursor: snap}, nil
	}
	rows, err := s.pool.Query(ctx, changesQuery, cursor, maxChangesPerPoll+1)
	if err != nil {
		return store.ChangeBatch{}, fmt.Errorf("postgres: read changes: %w", err)
	}
	defer rows.Close()
	var b store.ChangeBatch
	n := 0
	for rows.Next() {
		var kind, id *string
		if err := rows.Scan(&b.Cursor, &kind, &id); err != nil {
			return store.ChangeBatch{}, fmt.Errorf("postgres: read changes: %w", err)
		}
		if kind != nil && id != nil { // else no change: the snapshot row alone
			n++
			b.Add(*kind, *id)
		}
	}
	if err := rows.Err(); err != nil {
		return store.ChangeBatch{}, fmt.Errorf("postgres: read changes: %w", err)
	}
	if n > maxChangesPerPoll {
		b = store.ChangeBatch{All: true, Cursor: b.Cursor}
	}
	return b, nil
}

// PruneChanges implements store.Changes, on the database's clock (the
// changes' at is clock_timestamp() at the write).
func (s *Store) PruneChanges(ctx context.Context, age time.Duration) (int, error) {
	tag, err := s.pool.Exec(ctx, "DELETE FROM changes WHERE at < now() - make_interval(secs => $1)", age.Seconds())
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
