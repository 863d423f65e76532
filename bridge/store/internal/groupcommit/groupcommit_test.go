package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Every write is committed exactly once, by one commit at a time, and
// each caller gets its own op's result.
func TestEachWriteCommittedOnceWithItsOwnResult(t *testing.T) {
	var (
		q         Queue[int]
		running   atomic.Int32
		mu        sync.Mutex
		committed = map[int]int{}
	)
	commit := func(batch []*Op[int]) {
		if running.Add(1) != 1 {
			t.Error("two batches committed at once")
		}
		defer running.Add(-1)
		mu.Lock()
		defer mu.Unlock()
		for _, op := range batch {
			committed[op.Write]++
			if op.Write%3 == 0 {
				op.Err = fmt.Errorf("write %d", op.Write)
			}
		}
	}
	const writers, each = 16, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				n := w*each + i
				err := q.Do(t.Context(), n, commit)
				if want := n%3 == 0; (err != nil) != want || (want && err.Error() != fmt.Sprintf("write %d", n)) {
					t.Errorf("write %d: err = %v", n, err)
				}
			}
		})
	}
	wg.Wait()
	if len(committed) != writers*each {
		t.Fatalf("%d writes committed, want %d", len(committed), writers*each)
	}
	for n, c := range committed {
		if c != 1 {
			t.Errorf("write %d committed %d times", n, c)
		}
	}
	if q.busy || len(q.pending) != 0 {
		t.Errorf("idle queue left busy=%v with %d pending", q.busy, len(q.pending))
	}
}

// Writes that queue while a batch is being committed go together in the
// next batch, committed by one of their callers.
func TestQueuedWritesShareTheNextBatch(t *testing.T) {
	var q Queue[string]
	release := make(chan struct{})
	var batches [][]string
	commit := func(batch []*Op[string]) {
		var ws []string
		for _, op := range batch {
			ws = append(ws, op.Write)
		}
		batches = append(batches, ws) // commits never overlap
		if len(batches) == 1 {
			<-release
		}
	}
	first := make(chan error, 1)
	go func() { first <- q.Do(t.Context(), "lead", commit) }()
	waitPending := func(n int) {
		for {
			q.mu.Lock()
			got, busy := len(q.pending), q.busy
			q.mu.Unlock()
			if busy && got == n {
				return
			}
			runtime.Gosched()
		}
	}
	waitPending(0) // the leader has taken its batch and is committing
	const queued = 5
	var wg sync.WaitGroup
	for i := range queued {
		wg.Go(func() {
			if err := q.Do(t.Context(), fmt.Sprint(i), commit); err != nil {
				t.Error(err)
			}
		})
	}
	waitPending(queued)
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if len(batches) != 2 || len(batches[0]) != 1 || len(batches[1]) != queued {
		t.Fatalf("batches = %q, want [lead] then all %d queued writes together", batches, queued)
	}
}

// A caller's cancelled context does not abandon its queued write: the
// caller still learns the result the commit gave it.
func TestCancelledCallerWaitsForItsResult(t *testing.T) {
	var q Queue[int]
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	errSkipped := errors.New("skipped")
	err := q.Do(ctx, 1, func(batch []*Op[int]) {
		for _, op := range batch {
			if op.Ctx.Err() != nil {
				op.Err = errSkipped
			}
		}
	})
	if !errors.Is(err, errSkipped) {
		t.Fatalf("Do with a cancelled ctx = %v, want the commit's result", err)
	}
}

// With Linger, a lone write is committed at once; a write that follows
// another within Linger waits, and the writes queued meanwhile share its
// commit.
func TestLingerGathersAStreamAndSparesALoneWrite(t *testing.T) {
	q := Queue[string]{Linger: 3 * time.Second}
	var mu sync.Mutex
	var batches [][]string
	commit := func(batch []*Op[string]) {
		var ws []string
		for _, op := range batch {
			ws = append(ws, op.Write)
		}
		mu.Lock()
		batches = append(batches, ws)
		mu.Unlock()
	}
	lone := make(chan error, 1)
	go func() { lone <- q.Do(t.Context(), "lone", commit) }()
	select {
	case err := <-lone:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(q.Linger / 2):
		t.Fatal("a lone write waited for Linger")
	}
	pending := func(n int) bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		return q.busy && len(q.pending) == n
	}
	var wg sync.WaitGroup
	for i, w := range []string{"next", "a", "b"} {
		wg.Go(func() {
			if err := q.Do(t.Context(), w, commit); err != nil {
				t.Error(err)
			}
		})
		deadline := time.Now().Add(q.Linger)
		for !pending(i + 1) { // "next" lingers: the others queue behind it
			if time.Now().After(deadline) {
				t.Fatalf("%q did not queue behind a lingering leader", w)
			}
			runtime.Gosched()
		}
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(batches) != "[[lone] [next a b]]" {
		t.Fatalf("batches = %q, want [lone] then [next a b]", batches)
	}
}
