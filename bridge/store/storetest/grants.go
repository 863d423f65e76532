package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

var grantTests = []test{
	{"ClaimDueGrants", testClaimDueGrants},
	{"ClaimDueGrantsConcurrent", testClaimDueGrantsConcurrent},
	{"ClaimGrant", testClaimGrant},
	{"ClaimGrantConcurrent", testClaimGrantConcurrent},
	{"NextRefreshAtAndCountDue", testNextRefreshAtAndCountDue},
}

// dueSession returns a session whose grant is due at refreshAt (zero: never).
func dueSession(id, userID string, refreshAt time.Time) store.Session {
	sess := fullSession(id, userID)
	sess.RefreshAt = refreshAt
	return sess
}

func claimIDs(t *testing.T, s store.Store, owner string, now time.Time, lease time.Duration, limit int) []store.Session {
	t.Helper()
	got, err := s.ClaimDueGrants(ctx(t), owner, now, lease, limit)
	if err != nil {
		t.Fatalf("ClaimDueGrants(%s, now%+v): %v", owner, now.Sub(base), err)
	}
	for _, g := range got {
		if g.LeaseOwner != owner {
			t.Fatalf("claimed %s has LeaseOwner %q, want %q", g.ID, g.LeaseOwner, owner)
		}
		until := store.Normalize(now.Add(lease))
		if !g.LeaseUntil.Equal(until) || !g.RefreshAt.Equal(until) {
			t.Fatalf("claimed %s has LeaseUntil %v RefreshAt %v, want both %v", g.ID, g.LeaseUntil, g.RefreshAt, until)
		}
	}
	return got
}

func testClaimDueGrants(t *testing.T, s store.Store) {
	uid := newUser(t, s, "claim")
	now := base.Add(time.Hour)
	const lease = 5 * time.Minute
	mustCreate(t, s, dueSession("m3", uid, now.Add(-3*time.Minute)))
	mustCreate(t, s, dueSession("m1", uid, now.Add(-1*time.Minute)))
	m2 := mustCreate(t, s, dueSession("m2", uid, now.Add(-2*time.Minute)))
	mustCreate(t, s, dueSession("exact", uid, now))
	mustCreate(t, s, dueSession("p1", uid, now.Add(time.Minute)))
	mustCreate(t, s, dueSession("never", uid, time.Time{}))

	got := claimIDs(t, s, "A", now, lease, 2)
	if ids(got) != "m3,m2" {
		t.Fatalf("first claim = %s, want m3,m2 (earliest first, limit 2)", ids(got))
	}
	// The claimed row is returned as written: lease set, version bumped,
	// everything else untouched.
	want := m2
	want.LeaseOwner, want.LeaseUntil, want.RefreshAt, want.Version = "A", now.Add(lease), now.Add(lease), 2
	wantEqual(t, "claimed grant", want, got[1])
	wantEqual(t, "stored claimed grant", want, mustGet(t, s, "m2"))

	// Leased rows are not due again until their lease runs out.
	if got := claimIDs(t, s, "B", now, lease, 10); ids(got) != "m1,exact" {
		t.Fatalf("second claim = %s, want m1,exact", ids(got))
	}
	if got := claimIDs(t, s, "B", now.Add(lease-time.Millisecond), lease, 10); ids(got) != "p1" {
		t.Fatalf("claim before leases run out = %s, want p1", ids(got))
	}
	// After the lease, the abandoned grants are due again; the one claimed
	// last (p1, leased until now+lease-1ms+lease) is not.
	later := now.Add(lease)
	// All four became due at the same instant, so any order among them is
	// earliest first.
	if got := sortedIDs(claimIDs(t, s, "C", later, lease, 10)); got != "exact,m1,m2,m3" {
		t.Fatalf("claim after lease = %s, want exact,m1,m2,m3", got)
	}
	if got := claimIDs(t, s, "C", later, lease, 10); len(got) != 0 {
		t.Fatalf("repeated claim = %s, want none", ids(got))
	}
	if g := mustGet(t, s, "never"); g.LeaseOwner != "" || g.Version != 1 {
		t.Fatalf("grant without RefreshAt was claimed: %+v", g)
	}
}

// testClaimDueGrantsConcurrent: many refreshers claiming at once never
// get the same grant twice, and together they get every due grant.
func sortedIDs(list []store.Session) string {
	sorted := slices.Clone(list)
	slices.SortFunc(sorted, func(a, b store.Session) int { return strings.Compare(a.ID, b.ID) })
	return ids(sorted)
}

func testClaimDueGrantsConcurrent(t *testing.T, s store.Store) {
	claimAllConcurrently(t, []store.Store{s}, 400, 7)
}

// TwoHandlesNeverDoubleClaim checks what the in-process suite cannot:
// two independent handles on one database (as serve and a refresh daemon
// would open, each with its own pool and in-process locks) claiming due
// grants at once never get the same grant, and between them claim all.
// Only the database's own locking keeps them apart. a and b must be
// empty stores on the same database.
func TwoHandlesNeverDoubleClaim(t *testing.T, a, b store.Store) {
	t.Helper()
	claimAllConcurrently(t, []store.Store{a, b}, 300, 5)
}

// claimAllConcurrently creates grants due grants through the handles in
// turn, then has eight workers, spread over the handles, claim batches
// until none is left. Each grant must be claimed exactly once, and leased
// to the worker that got it.
func claimAllConcurrently(t *testing.T, handles []store.Store, grants, batch int) {
	t.Helper()
	const workers = 8
	uid := newUser(t, handles[0], "cc")
	now := base.Add(time.Hour)
	for i := range grants {
		mustCreate(t, handles[i%len(handles)], dueSession(fmt.Sprintf("g%04d", i), uid, now.Add(-time.Duration(i)*time.Second)))
	}
	var mu sync.Mutex
	seen := map[string]string{}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		h := w % len(handles)
		owner := fmt.Sprintf("h%d-w%d", h, w)
		wg.Go(func() {
			for {
				got, err := handles[h].ClaimDueGrants(ctx(t), owner, now, time.Minute, batch)
				if err != nil {
					errs <- fmt.Errorf("%s: ClaimDueGrants: %w", owner, err)
					return
				}
				if len(got) == 0 {
					return
				}
				// Each worker reports at most one problem, so errs never blocks.
				var problem error
				mu.Lock()
				for _, g := range got {
					if prev, dup := seen[g.ID]; dup {
						problem = fmt.Errorf("grant %s claimed by both %s and %s", g.ID, prev, owner)
					} else if g.LeaseOwner != owner {
						problem = fmt.Errorf("%s got %s leased to %s", owner, g.ID, g.LeaseOwner)
					}
					seen[g.ID] = owner
				}
				mu.Unlock()
				if problem != nil {
					errs <- problem
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != grants {
		t.Fatalf("claimed %d distinct grants, want %d", len(seen), grants)
	}
}

func testClaimGrant(t *testing.T, s store.Store) {
	uid := newUser(t, s, "cg")
	now := base.Add(time.Hour)
	const lease = time.Minute
	orig := mustCreate(t, s, dueSession("g", uid, now.Add(30*time.Minute))) // not due

	got, err := s.ClaimGrant(ctx(t), "g", "A", now, lease)
	if err != nil {
		t.Fatalf("ClaimGrant: %v", err)
	}
	want := orig
	want.LeaseOwner, want.LeaseUntil, want.RefreshAt, want.Version = "A", now.Add(lease), now.Add(lease), 2
	wantEqual(t, "ClaimGrant result", want, got)
	wantEqual(t, "stored grant", want, mustGet(t, s, "g"))

	_, err = s.ClaimGrant(ctx(t), "g", "B", now.Add(lease-time.Millisecond), lease)
	wantErr(t, "ClaimGrant on a leased grant", err, store.ErrLeased)
	if got := claimIDs(t, s, "B", now, lease, 10); len(got) != 0 {
		t.Fatalf("ClaimDueGrants took a leased grant: %s", ids(got))
	}
	// The owner may renew its own lease.
	if _, err := s.ClaimGrant(ctx(t), "g", "A", now.Add(time.Second), lease); err != nil {
		t.Fatalf("owner renewing its lease: %v", err)
	}
	// Once the lease ran out another owner may take it.
	after := now.Add(time.Second + lease)
	got, err = s.ClaimGrant(ctx(t), "g", "B", after, lease)
	if err != nil {
		t.Fatalf("ClaimGrant after the lease ran out: %v", err)
	}
	if got.LeaseOwner != "B" || got.Version != 4 || !got.LeaseUntil.Equal(store.Normalize(after.Add(lease))) {
		t.Fatalf("ClaimGrant after expiry = %+v", got)
	}

	_, err = s.ClaimGrant(ctx(t), "nosuch", "A", now, lease)
	wantErr(t, "ClaimGrant(unknown)", err, store.ErrNotFound)
}

func testClaimGrantConcurrent(t *testing.T, s store.Store) {
	uid := newUser(t, s, "cgc")
	mustCreate(t, s, dueSession("g", uid, base))
	const n = 12
	var wg sync.WaitGroup
	results := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, results[i] = s.ClaimGrant(ctx(t), "g", fmt.Sprintf("o%d", i), base, time.Minute)
		})
	}
	wg.Wait()
	winners := 0
	for i, err := range results {
		switch {
		case err == nil:
			winners++
		case !errors.Is(err, store.ErrLeased):
			t.Fatalf("claimer %d: %v", i, err)
		}
	}
	if winners != 1 {
		t.Fatalf("%d concurrent ClaimGrant calls succeeded, want exactly 1", winners)
	}
}

func testNextRefreshAtAndCountDue(t *testing.T, s store.Store) {
	wantNextRefreshAt(t, s, "on empty store", time.Time{})
	uid := newUser(t, s, "next")
	mustCreate(t, s, dueSession("never", uid, time.Time{}))
	wantNextRefreshAt(t, s, "without refreshable grants", time.Time{})
	now := base.Add(time.Hour)
	mustCreate(t, s, dueSession("a", uid, now.Add(10*time.Minute)))
	mustCreate(t, s, dueSession("b", uid, now.Add(-2*time.Minute)))
	mustCreate(t, s, dueSession("c", uid, now.Add(-time.Minute)))
	wantNextRefreshAt(t, s, "", now.Add(-2*time.Minute))
	wantCountDue(t, s, "", now, 2)
	claimIDs(t, s, "A", now, 20*time.Minute, 1) // b: now leased until now+20m
	wantNextRefreshAt(t, s, "after claim", now.Add(-time.Minute))
	wantCountDue(t, s, "after claim", now, 1)
	wantCountDue(t, s, "an hour later", now.Add(time.Hour), 3)
}

// wantNextRefreshAt checks NextRefreshAt (in UTC); a zero want means no
// grant is refreshable. when names the situation in a failure.
func wantNextRefreshAt(t *testing.T, s store.Store, when string, want time.Time) {
	t.Helper()
	at, ok, err := s.NextRefreshAt(ctx(t))
	if want.IsZero() {
		if err != nil || ok {
			t.Fatalf("NextRefreshAt %s = %v, %v, %v; want false", when, at, ok, err)
		}
		return
	}
	want = store.Normalize(want)
	if err != nil || !ok || !at.Equal(want) || at.Location() != time.UTC {
		t.Fatalf("NextRefreshAt %s = %v, %v, %v; want %v", when, at, ok, err, want)
	}
}

// wantCountDue checks CountDue at now.
func wantCountDue(t *testing.T, s store.Store, when string, now time.Time, want int) {
	t.Helper()
	if n, err := s.CountDue(ctx(t), now); err != nil || n != want {
		t.Fatalf("CountDue %s = %d, %v; want %d", when, n, err, want)
	}
}
