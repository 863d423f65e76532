package postgres

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// casQueue is group commit for CompareAndSwapSession, the refresher's one
// write per refresh. With synchronous_commit (the default, and what makes
// a rotated refresh token durable) each commit waits for a WAL flush, so
// a refresher finishing thousands of refreshes a second would spend its
// pool's connections waiting on flushes. Instead, the writes that queue up
// while one batch is being committed go together in the next: one
// pipelined round trip (BEGIN, the UPDATEs, COMMIT) and one flush for many
// writes; a lone write is a plain autocommit UPDATE.
//
// There is no background goroutine: the first caller to find the queue
// idle leads, runs one batch (its own write and everything queued), then
// hands the lead to the oldest waiting caller.
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
		// it was. A batch is one round trip.
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
	live := batch[:0:0]
	for _, op := range batch {
		if op.err = op.ctx.Err(); op.err == nil {
			live = append(live, op)
		}
	}
	if len(live) > 1 && s.casTogether(live) == nil {
		return
	}
	// One write, or a batch that failed as a whole (it was rolled back,
	// e.g. chosen as a deadlock victim): each write on its own.
	for _, op := range live {
		op.err = s.casOne(op.ctx, op.id, op.args)
	}
}

func (s *Store) casOne(ctx context.Context, id string, args []any) error {
	tag, err := s.pool.Exec(ctx, casQuery, args...)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return s.missingOr(ctx, id, store.ErrConflict)
	}
	return nil
}

// casTogether runs the batch in one transaction and pipeline. Rows are
// locked in ID order, the same in every process, so two batches cannot
// deadlock each other. It sets the ops' err only when the transaction
// committed.
func (s *Store) casTogether(ops []*casOp) error {
	slices.SortFunc(ops, func(a, b *casOp) int { return cmp.Compare(a.id, b.id) })
	// Not cancelled with any one caller's ctx: the others' writes ride
	// on the same transaction.
	ctx := context.WithoutCancel(ops[0].ctx)
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	for _, op := range ops {
		b.Queue(casQuery, op.args...)
	}
	b.Queue("COMMIT")
	res := s.pool.SendBatch(ctx, b)
	defer res.Close()
	if _, err := res.Exec(); err != nil {
		return err
	}
	hit := make([]bool, len(ops))
	for i := range ops {
		tag, err := res.Exec()
		if err != nil {
			return err
		}
		hit[i] = tag.RowsAffected() == 1
	}
	tag, err := res.Exec()
	if err != nil {
		return err
	}
	if tag.String() != "COMMIT" {
		return errRolledBack
	}
	if err := res.Close(); err != nil {
		return err
	}
	for i, op := range ops {
		if !hit[i] {
			op.err = s.missingOr(op.ctx, op.id, store.ErrConflict)
		}
	}
	return nil
}

// errRolledBack: a batch's COMMIT answered ROLLBACK (a statement failed).
var errRolledBack = errors.New("postgres: batched writes were rolled back")
