package sqlite

import (
	"context"
	"database/sql"
	"sync"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// casQueue is group commit for CompareAndSwapSession, the refresher's one
// write per refresh. In WAL mode most of a small write's cost is its
// commit (appending the changed pages to the log), and SQLite has one
// writer at a time, so under load the writes queue anyway. Instead of
// committing each, the writes that queued up while one batch was being
// committed go together in the next transaction: one commit for many
// writes, at no extra latency when there is no queue (a lone write is a
// plain autocommit UPDATE).
//
// There is no background goroutine: the first caller to find the queue
// idle leads, runs one batch (its own write and everything queued), then
// hands the lead to the oldest waiting caller, so no caller works for
// others indefinitely.
type casQueue struct {
	mu      sync.Mutex
	pending []*casOp
	busy    bool // a leader is running a batch
}

// casOp is one queued CompareAndSwapSession.
type casOp struct {
	ctx  context.Context
	id   string
	args []any
	err  error
	lead bool          // set before wake is closed: run the next batch
	wake chan struct{} // closed when err is final, or lead is set
}

// compareAndSwap queues the conditional UPDATE with args (casQuery's
// parameters) of row id and returns its result once committed.
func (s *Store) compareAndSwap(ctx context.Context, id string, args []any) error {
	op := &casOp{ctx: ctx, id: id, args: args, wake: make(chan struct{})}
	q := &s.cas
	q.mu.Lock()
	q.pending = append(q.pending, op)
	leader := !q.busy
	q.busy = true
	q.mu.Unlock()
	if !leader {
		// The wait is not cut short by ctx: once queued, the write may
		// be committed at any moment, and the caller must learn whether
		// it was. A batch is bounded by the busy timeout.
		<-op.wake
		if !op.lead {
			return op.err
		}
	}
	q.mu.Lock()
	batch := q.pending
	q.pending = nil
	q.mu.Unlock()
	s.runCASBatch(batch)
	q.mu.Lock()
	if len(q.pending) > 0 {
		next := q.pending[0]
		next.lead = true
		close(next.wake)
	} else {
		q.busy = false
	}
	q.mu.Unlock()
	for _, o := range batch {
		if o != op {
			close(o.wake)
		}
	}
	return op.err
}

// runCASBatch sets every op's err.
func (s *Store) runCASBatch(batch []*casOp) {
	if len(batch) == 1 {
		op := batch[0]
		n, err := s.execStmt(op.ctx, s.stmts.casSession, op.args...)
		if err == nil && n != 1 {
			err = s.missingOr(op.ctx, nil, op.id, store.ErrConflict)
		}
		op.err = err
		return
	}
	// Statements inside the transaction run without cancellation: an
	// interrupted statement would roll back the whole transaction, and
	// with it the other callers' writes. A caller whose ctx is already
	// done is skipped.
	ctx := context.WithoutCancel(batch[0].ctx)
	err := s.write(ctx, func(tx *sql.Tx) error {
		stmt := tx.StmtContext(ctx, s.stmts.casSession)
		for _, op := range batch {
			if op.err = op.ctx.Err(); op.err != nil {
				continue
			}
			var n int
			n, op.err = rowsAffected(stmt.ExecContext(ctx, op.args...))
			if op.err == nil && n != 1 {
				op.err = s.missingOr(ctx, tx, op.id, store.ErrConflict)
			}
		}
		return nil
	})
	if err != nil {
		for _, op := range batch {
			op.err = err
		}
	}
}
