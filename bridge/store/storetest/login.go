package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

var loginTests = []test{
	{"RebindFlow", testRebindFlow},
	{"RebindFlowConcurrent", testRebindFlowConcurrent},
	{"CreateLoginSession", testCreateLoginSession},
	{"CreateLoginSessionCap", testCreateLoginSessionCap},
	{"CreateSessions", testCreateSessions},
	{"CreateLoginSessionBlocked", testCreateLoginSessionBlocked},
	{"CreateLoginSessionConcurrent", testCreateLoginSessionConcurrent},
}

func testCreateLoginSessionBlocked(t *testing.T, s store.Store) {
	in := store.IdentityInput{Provider: "test", ProviderUID: "blocked"}
	uid := newUser(t, s, "blocked")
	if _, err := s.SetUserBlocked(ctx(t), uid, true, base); err != nil {
		t.Fatalf("SetUserBlocked: %v", err)
	}
	before, err := s.GetUser(ctx(t), uid)
	if err != nil {
		t.Fatal(err)
	}
	sess := minimalSession("b1", "")
	in.Name, in.Email = "renamed", "renamed@example.com"
	_, _, err = s.CreateLoginSession(ctx(t), in, &sess, 10, base.Add(time.Hour))
	wantErr(t, "CreateLoginSession of a blocked user", err, store.ErrUserBlocked)
	if _, err := s.GetSession(ctx(t), "b1"); err == nil {
		t.Fatal("a blocked user's login stored a session")
	}
	after, err := s.GetUser(ctx(t), uid)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "the blocked user after the refused login (nothing stored)", before, after)
}

// testCreateLoginSessionConcurrent: concurrent logins of one known user
// all succeed, and the cap holds once they are done.
func testCreateLoginSessionConcurrent(t *testing.T, s store.Store) {
	in := store.IdentityInput{Provider: "test", ProviderUID: "busy", Email: "busy@example.com"}
	first := minimalSession("busy0", "")
	u, _, err := s.CreateLoginSession(ctx(t), in, &first, 3, base)
	if err != nil {
		t.Fatalf("first CreateLoginSession: %v", err)
	}
	const n = 8
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		removed = map[string]bool{}
	)
	for i := range n {
		wg.Go(func() {
			sess := minimalSession(fmt.Sprintf("busy%d", i+1), "")
			sess.CreatedAt = base.Add(time.Duration(i+1) * time.Minute)
			got, over, err := s.CreateLoginSession(ctx(t), in, &sess, 3, base.Add(time.Minute))
			if err != nil {
				t.Errorf("CreateLoginSession %d: %v", i, err)
				return
			}
			if got.ID != u.ID || sess.UserID != u.ID {
				t.Errorf("login %d: user %q, session user %q; want %q", i, got.ID, sess.UserID, u.ID)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, r := range over {
				if removed[r.ID] {
					t.Errorf("session %s reported removed twice", r.ID)
				}
				removed[r.ID] = true
			}
		})
	}
	loginsBeside(t, s, &wg)
	wg.Wait()
	mustGet(t, s, "busy-new")
	if _, err := s.GetSession(ctx(t), "busy-refused"); err == nil {
		t.Error("a blocked user's login stored a session")
	}
	list, err := s.ListSessions(ctx(t), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || len(removed) != n+1-3 {
		t.Fatalf("%d sessions left (want 3), %d reported removed (want %d)", len(list), len(removed), n+1-3)
	}
	for _, sess := range list {
		if removed[sess.ID] {
			t.Errorf("session %s reported removed but still listed", sess.ID)
		}
	}
}

func testCreateSessions(t *testing.T, s store.Store) {
	uid := newUser(t, s, "many")
	a, b := fullSession("m1", uid), minimalSession("m2", uid)
	if err := s.CreateSessions(ctx(t), []*store.Session{&a, &b}); err != nil {
		t.Fatalf("CreateSessions: %v", err)
	}
	if a.Version != 1 || b.Version != 1 {
		t.Fatalf("versions %d, %d; want 1", a.Version, b.Version)
	}
	wantEqual(t, "first of the batch", a, mustGet(t, s, "m1"))
	wantEqual(t, "second of the batch", b, mustGet(t, s, "m2"))
	dup, fresh := minimalSession("m1", uid), minimalSession("m3", uid)
	if err := s.CreateSessions(ctx(t), []*store.Session{&fresh, &dup}); err == nil {
		t.Fatal("CreateSessions with a duplicate ID succeeded")
	}
	if _, err := s.GetSession(ctx(t), "m3"); err == nil {
		t.Fatal("a failed CreateSessions kept part of its batch")
	}
}

func testRebindFlow(t *testing.T, s store.Store) {
	f := newFlow("handle", base.Add(10*time.Minute))
	mustCreateFlow(t, s, f)
	got, err := s.RebindFlow(ctx(t), "handle", "state", base.Add(time.Minute))
	if err != nil {
		t.Fatalf("RebindFlow: %v", err)
	}
	want := f
	want.ID = "state"
	wantEqual(t, "rebound flow", want, got)
	_, err = s.RebindFlow(ctx(t), "handle", "other", base.Add(time.Minute))
	wantErr(t, "second RebindFlow of the used handle", err, store.ErrNotFound)
	consumed, err := s.ConsumeFlow(ctx(t), "state", base.Add(2*time.Minute))
	if err != nil {
		t.Fatalf("ConsumeFlow(state): %v", err)
	}
	wantEqual(t, "flow consumed by its new ID", want, consumed)

	mustCreateFlow(t, s, newFlow("old", base.Add(time.Minute)))
	_, err = s.RebindFlow(ctx(t), "old", "late", base.Add(time.Minute))
	wantErr(t, "RebindFlow at expiry", err, store.ErrNotFound)
	_, err = s.ConsumeFlow(ctx(t), "late", base)
	wantErr(t, "ConsumeFlow of an expired flow's would-be ID", err, store.ErrNotFound)
}

func testRebindFlowConcurrent(t *testing.T, s store.Store) {
	mustCreateFlow(t, s, newFlow("handle", base.Add(10*time.Minute)))
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for i := range 8 {
		wg.Go(func() {
			if _, err := s.RebindFlow(ctx(t), "handle", "state-"+string(rune('a'+i)), base); err == nil {
				mu.Lock()
				won++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if won != 1 {
		t.Fatalf("%d concurrent RebindFlow calls won, want exactly 1", won)
	}
}

func testCreateLoginSession(t *testing.T, s store.Store) {
	in := store.IdentityInput{Provider: "test", ProviderUID: "u1", Email: "u1@example.com", EmailVerified: true, Name: "U One"}
	sess := fullSession("s1", "")
	u, removed, err := s.CreateLoginSession(ctx(t), in, &sess, 10, base)
	if err != nil {
		t.Fatalf("CreateLoginSession: %v", err)
	}
	if len(removed) != 0 || sess.UserID != u.ID || sess.Version != 1 {
		t.Fatalf("removed %d, session user %q (user %q), version %d", len(removed), sess.UserID, u.ID, sess.Version)
	}
	wantEqual(t, "the login's user", store.User{ID: u.ID, CreatedAt: base, UpdatedAt: base, AccessedAt: base,
		Name: "U One", Email: "u1@example.com", EmailVerified: true}, u)
	wantEqual(t, "the login's session", sess, mustGet(t, s, "s1"))
	// The same account again: the same user, updated.
	again := fullSession("s2", "")
	in.Name = "U 1"
	u2, _, err := s.CreateLoginSession(ctx(t), in, &again, 10, base.Add(time.Hour))
	if err != nil {
		t.Fatalf("second CreateLoginSession: %v", err)
	}
	if u2.ID != u.ID || u2.Name != "U 1" || again.UserID != u.ID {
		t.Fatalf("second login: user %+v, session user %q; want the first user renamed", u2, again.UserID)
	}
	wantEqual(t, "the second login's session", again, mustGet(t, s, "s2"))
	wantEqual(t, "the second login's user as stored", u2, mustGetUser(t, s, u.ID))
}

func testCreateLoginSessionCap(t *testing.T, s store.Store) {
	in := store.IdentityInput{Provider: "test", ProviderUID: "capped"}
	for i, id := range []string{"c1", "c2", "c3", "c4"} {
		sess := minimalSession(id, "")
		sess.CreatedAt = base.Add(time.Duration(i) * time.Minute)
		_, removed, err := s.CreateLoginSession(ctx(t), in, &sess, 2, base)
		if err != nil {
			t.Fatalf("CreateLoginSession(%s): %v", id, err)
		}
		wantRemoved := map[string]string{"c3": "c1", "c4": "c2"}[id]
		if got := ids(removed); got != wantRemoved {
			t.Fatalf("login %s removed %q, want %q", id, got, wantRemoved)
		}
	}
	list, err := s.ListSessions(ctx(t), mustGet(t, s, "c4").UserID)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(list); got != "c3,c4" {
		t.Fatalf("sessions left %q, want c3,c4", got)
	}
}

func mustGetUser(t *testing.T, s store.Store, id string) store.User {
	t.Helper()
	u, err := s.GetUser(ctx(t), id)
	if err != nil {
		t.Fatalf("GetUser(%s): %v", id, err)
	}
	return u
}

// loginsBeside starts, on wg, a first login and a blocked user's login,
// to run beside other concurrent logins: each must get its own outcome
// whatever it shares a commit with.
func loginsBeside(t *testing.T, s store.Store, wg *sync.WaitGroup) {
	blocked := newUser(t, s, "busy-blocked")
	if _, err := s.SetUserBlocked(ctx(t), blocked, true, base); err != nil {
		t.Fatal(err)
	}
	wg.Go(func() {
		sess := minimalSession("busy-new", "")
		if _, _, err := s.CreateLoginSession(ctx(t), store.IdentityInput{Provider: "test", ProviderUID: "busy-new"}, &sess, 3, base); err != nil {
			t.Errorf("first login beside others: %v", err)
		}
	})
	wg.Go(func() {
		sess := minimalSession("busy-refused", "")
		_, _, err := s.CreateLoginSession(ctx(t), store.IdentityInput{Provider: "test", ProviderUID: "busy-blocked"}, &sess, 3, base)
		if !errors.Is(err, store.ErrUserBlocked) {
			t.Errorf("blocked user's login beside others: %v, want ErrUserBlocked", err)
		}
	})
}
