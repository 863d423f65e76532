package storetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// testCompareAndSwapManyRows: concurrent compare-and-swaps on several
// rows, which a backend may commit together in shared transactions
// (group commit), behave as if each ran alone: no lost update, and
// conflicts and missing rows are reported to the right caller, even when
// a write that misses is batched with writes that hit.
func testCompareAndSwapManyRows(t *testing.T, s store.Store) {
	const rows, writers, writes = 8, 32, 20
	stale := seedRowsAndOneDeleted(t, s, rows)
	var mu sync.Mutex
	done := map[string]int{}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			if w == 0 {
				// Writes to a deleted row, batched with the others.
				for range writes {
					cp := stale
					if err := s.CompareAndSwapSession(ctx(t), &cp); !errors.Is(err, store.ErrNotFound) {
						t.Errorf("CAS of a deleted row = %v, want ErrNotFound", err)
					}
				}
				return
			}
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for range writes {
				id := fmt.Sprintf("c%d", rng.IntN(rows))
				if !incrementUntilStored(t, s, id) {
					return
				}
				mu.Lock()
				done[id]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	checkEveryWriteCounted(t, s, rows, done, (writers-1)*writes)
}

// seedRowsAndOneDeleted creates sessions c0..c{rows-1} and returns a copy
// of one more, c{rows}, deleted since: a write that must miss.
func seedRowsAndOneDeleted(t *testing.T, s store.Store, rows int) store.Session {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	u, err := s.UpsertIdentity(ctx(t), store.IdentityInput{Provider: "p", ProviderUID: "u"}, now)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows + 1 {
		if err := s.CreateSession(ctx(t), &store.Session{ID: fmt.Sprintf("c%d", i), UserID: u.ID}); err != nil {
			t.Fatal(err)
		}
	}
	gone := fmt.Sprintf("c%d", rows)
	stale, err := s.GetSession(ctx(t), gone)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSession(ctx(t), gone); err != nil {
		t.Fatal(err)
	}
	return stale
}

// incrementUntilStored adds one to id's RefreshFailures with a
// read-modify-CAS loop, retrying on conflict as a real caller does; it
// reports false (after failing the test) on any other error.
func incrementUntilStored(t *testing.T, s store.Store, id string) bool {
	for {
		cur, err := s.GetSession(ctx(t), id)
		if err != nil {
			t.Error(err)
			return false
		}
		cur.RefreshFailures++
		err = s.CompareAndSwapSession(ctx(t), &cur)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			t.Error(err)
			return false
		}
		return true
	}
}

// checkEveryWriteCounted checks that each row's counter and version moved
// once per successful write (no lost update), and that want writes
// succeeded in all.
func checkEveryWriteCounted(t *testing.T, s store.Store, rows int, done map[string]int, want int) {
	total := 0
	for i := range rows {
		id := fmt.Sprintf("c%d", i)
		cur, err := s.GetSession(ctx(t), id)
		if err != nil {
			t.Fatal(err)
		}
		if cur.RefreshFailures != done[id] || cur.Version != int64(1+done[id]) {
			t.Errorf("%s: counter %d, version %d after %d successful writes", id, cur.RefreshFailures, cur.Version, done[id])
		}
		total += done[id]
	}
	if total != want {
		t.Errorf("%d successful writes, want %d", total, want)
	}
}
