// Package groupcommit batches writes that arrive while an earlier batch
// is being committed, so that many writers share one commit (one WAL
// append in SQLite, one WAL flush and round trip in PostgreSQL) instead
// of paying for one each. A backend supplies only the commit of a batch;
// the queueing and the hand-over of work between callers, which is the
// subtle part and the same for every backend, lives here once.
//
// There is no background goroutine: the first caller to find the queue
// idle leads, commits one batch (its own write and everything queued),
// then hands the lead to the oldest waiting caller, so no caller works
// for others indefinitely and an idle queue costs nothing. A lone write
// is a batch of one, committed at no extra latency.
package groupcommit

import (
	"context"
	"sync"
	"time"
)

// Queue is a group-commit queue of writes of type T. The zero value is
// ready to use; a Queue must not be copied after first use.
type Queue[T any] struct {
	// Linger, when set (before first use), makes a leader that found the
	// queue idle wait that long before it commits, if the previous write
	// arrived less than Linger before its own: under a steady stream of
	// writes that each find the queue idle (the writer is fast enough to
	// keep up, so nothing queues), the writes of the next Linger share
	// one commit instead of paying for one each. A lone write, or the
	// first after a pause, is committed at once. Meant for writes whose
	// callers can wait a little (the refresher's results: its request
	// slot is already free); a request that shares the queue may wait up
	// to Linger more while the stream lasts.
	Linger time.Duration

	mu          sync.Mutex
	pending     []*Op[T]
	busy        bool // a leader is running a batch
	lastArrival time.Time
}

// Op is one queued write, as the commit function sees it.
type Op[T any] struct {
	// Ctx is the caller's context. The commit function should skip an op
	// whose Ctx is already done, but must not let one caller's
	// cancellation abort the others' writes.
	Ctx context.Context
	// Write is what the caller queued.
	Write T
	// Err is the op's result; the commit function sets it.
	Err error

	lead bool          // set before wake is closed: run the next batch
	wake chan struct{} // closed when Err is final, or lead is set
}

// Do queues write and returns its Err once a batch holding it has been
// committed. commit receives a batch of one or more ops and must set
// each op's Err; every caller of one Queue must pass the same commit,
// since the leader commits the others' writes with its own.
//
// The wait is not cut short by ctx: once queued, the write may be
// committed at any moment, and the caller must learn whether it was. A
// batch's duration is bounded by commit (one round trip, or the
// database's busy timeout).
func (q *Queue[T]) Do(ctx context.Context, write T, commit func(batch []*Op[T])) error {
	op := &Op[T]{Ctx: ctx, Write: write, wake: make(chan struct{})}
	q.mu.Lock()
	q.pending = append(q.pending, op)
	streaming := q.streaming()
	leader := !q.busy
	q.busy = true
	q.mu.Unlock()
	if !leader {
		<-op.wake
		if !op.lead {
			return op.Err
		}
	}
	if leader && streaming {
		time.Sleep(q.Linger)
	}
	q.mu.Lock()
	batch := q.pending
	q.pending = nil
	q.mu.Unlock()
	commit(batch)
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
	return op.Err
}

// streaming notes a write's arrival and reports whether the previous one
// came less than Linger before it. q.mu is held.
func (q *Queue[T]) streaming() bool {
	if q.Linger <= 0 {
		return false
	}
	now := time.Now()
	streaming := now.Sub(q.lastArrival) < q.Linger
	q.lastArrival = now
	return streaming
}
