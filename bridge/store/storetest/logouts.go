package storetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

var logoutTests = []test{
	{"FindProviderSessions", testFindProviderSessions},
	{"UseLogoutTokenOnce", testUseLogoutTokenOnce},
	{"UseLogoutTokenConcurrent", testUseLogoutTokenConcurrent},
}

func testFindProviderSessions(t *testing.T, s store.Store) {
	ctx := context.Background()
	uid := newUser(t, s, "bcl")
	mk := func(id, provider, puid, sid string, at time.Duration) {
		sess := minimalSession(id, uid)
		sess.Provider, sess.ProviderUID, sess.ProviderSID = provider, puid, sid
		sess.CreatedAt = base.Add(at)
		mustCreate(t, s, sess)
	}
	mk("a1", "corp", "alice", "op-1", 0)
	mk("a2", "corp", "alice", "op-2", time.Second)
	mk("a3", "corp", "alice", "", 2*time.Second)
	mk("b1", "corp", "bob", "op-1", 3*time.Second) // same sid, other user: the provider's sids are its own
	mk("x1", "other", "alice", "op-1", 4*time.Second)
	ids := func(uidArg, sid string) []string {
		t.Helper()
		list, err := s.FindProviderSessions(ctx, "corp", uidArg, sid)
		if err != nil {
			t.Fatalf("FindProviderSessions(%q, %q): %v", uidArg, sid, err)
		}
		var out []string
		for _, x := range list {
			out = append(out, x.ID)
		}
		return out
	}
	for _, tc := range []struct {
		uid, sid string
		want     []string
	}{
		{"alice", "", []string{"a1", "a2", "a3"}},
		{"", "op-1", []string{"a1", "b1"}},
		{"alice", "op-1", []string{"a1"}},
		{"alice", "op-9", nil},
		{"nobody", "", nil},
	} {
		if got := ids(tc.uid, tc.sid); !equalStrings(got, tc.want) {
			t.Errorf("uid %q sid %q: got %v, want %v", tc.uid, tc.sid, got, tc.want)
		}
	}
	if _, err := s.FindProviderSessions(ctx, "corp", "", ""); err == nil {
		t.Error("FindProviderSessions without uid and sid: no error (it would match every session)")
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func testUseLogoutTokenOnce(t *testing.T, s store.Store) {
	ctx := context.Background()
	use := func(provider, jti string, expires, now time.Time) bool {
		t.Helper()
		ok, err := s.UseLogoutToken(ctx, provider, jti, expires, now)
		if err != nil {
			t.Fatalf("UseLogoutToken: %v", err)
		}
		return ok
	}
	exp := base.Add(10 * time.Minute)
	if !use("corp", "j1", exp, base) {
		t.Fatal("first use of a jti was refused")
	}
	if use("corp", "j1", exp, base.Add(time.Minute)) {
		t.Fatal("a replayed jti was accepted")
	}
	if !use("other", "j1", exp, base) {
		t.Fatal("the same jti from another provider was refused")
	}
	// Once its record has expired, the jti is forgotten (the token's own
	// exp refuses it by then).
	if !use("corp", "j1", exp.Add(time.Hour), exp) {
		t.Fatal("a jti whose record expired was still refused")
	}
}

func testUseLogoutTokenConcurrent(t *testing.T, s store.Store) {
	var wg sync.WaitGroup
	var accepted atomic.Int32
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.UseLogoutToken(context.Background(), "corp", "race", base.Add(time.Hour), base)
			if err != nil {
				t.Errorf("UseLogoutToken: %v", err)
			}
			if ok {
				accepted.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := accepted.Load(); n != 1 {
		t.Fatalf("%d concurrent uses of one jti accepted, want exactly 1", n)
	}
}
