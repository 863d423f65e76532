package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

var changeTests = []test{
	{"SessionWrites", testChangesSessionWrites},
	{"ClaimIsNoChange", testChangesClaimIsNoChange},
	{"UserWrites", testChangesUserWrites},
	{"LocalWrites", testChangesLocalWrites},
	{"Prune", testChangesPrune},
}

// changesAfter polls the feed from cursor and returns the batch.
func changesAfter(t *testing.T, s store.Store, cursor int64) store.ChangeBatch {
	t.Helper()
	b, err := s.ChangesSince(ctx(t), cursor)
	if err != nil {
		t.Fatalf("ChangesSince(%d): %v", cursor, err)
	}
	if b.Cursor <= 0 {
		t.Fatalf("ChangesSince(%d) returned cursor %d, want > 0", cursor, b.Cursor)
	}
	return b
}

func startCursor(t *testing.T, s store.Store) int64 {
	t.Helper()
	b := changesAfter(t, s, 0)
	if len(b.Sessions)+len(b.Users) != 0 {
		t.Fatalf("ChangesSince(0) returned changes %+v, want only a cursor", b)
	}
	return b.Cursor
}

func wantChanged(t *testing.T, what string, got []string, id string, want bool) {
	t.Helper()
	if slices.Contains(got, id) != want {
		t.Fatalf("%s: changes %v, want %s reported = %v", what, got, id, want)
	}
}

func testChangesSessionWrites(t *testing.T, s store.Store) {
	uid := newUser(t, s, "u")
	a := mustCreate(t, s, fullSession("a", uid))
	mustCreate(t, s, fullSession("b", uid))
	cur := startCursor(t, s)

	// A refresh: new sealed token and expiry.
	a.AccessTokenSealed = []byte("new token")
	a.AccessTokenExpiry = a.AccessTokenExpiry.Add(time.Hour)
	if err := s.CompareAndSwapSession(ctx(t), &a); err != nil {
		t.Fatalf("CompareAndSwapSession: %v", err)
	}
	b := changesAfter(t, s, cur)
	wantChanged(t, "after a refresh", b.Sessions, "a", true)
	wantChanged(t, "after a refresh", b.Sessions, "b", false)

	if err := s.DeleteSession(ctx(t), "b"); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	b = changesAfter(t, s, b.Cursor)
	wantChanged(t, "after DeleteSession", b.Sessions, "b", true)

	if _, err := s.DeleteUserSessions(ctx(t), uid); err != nil {
		t.Fatalf("DeleteUserSessions: %v", err)
	}
	b = changesAfter(t, s, b.Cursor)
	wantChanged(t, "after DeleteUserSessions", b.Sessions, "a", true)
}

// testChangesClaimIsNoChange: a lease changes nothing a reader sees, so
// the refresher's claims do not evict cached sessions.
func testChangesClaimIsNoChange(t *testing.T, s store.Store) {
	uid := newUser(t, s, "u")
	sess := fullSession("c", uid)
	sess.RefreshAt = base
	mustCreate(t, s, sess)
	cur := startCursor(t, s)
	if _, err := s.ClaimDueGrants(ctx(t), "owner", base, time.Minute, 10); err != nil {
		t.Fatalf("ClaimDueGrants: %v", err)
	}
	b := changesAfter(t, s, cur)
	wantChanged(t, "after a claim", b.Sessions, "c", false)
}

func testChangesUserWrites(t *testing.T, s store.Store) {
	uid := newUser(t, s, "u")
	mustCreate(t, s, minimalSession("s1", uid))
	cur := startCursor(t, s)

	if err := s.TouchUser(ctx(t), uid, base.Add(time.Minute), time.Second); err != nil {
		t.Fatalf("TouchUser: %v", err)
	}
	b := changesAfter(t, s, cur)
	wantChanged(t, "after TouchUser (the access stamp alone)", b.Users, uid, false)

	in := store.IdentityInput{Provider: "test", ProviderUID: "u", Email: "new@example.com", Name: "New"}
	if _, err := s.UpsertIdentity(ctx(t), in, base.Add(time.Hour)); err != nil {
		t.Fatalf("UpsertIdentity: %v", err)
	}
	b = changesAfter(t, s, b.Cursor)
	wantChanged(t, "after a login updated the user", b.Users, uid, true)
}

func testChangesLocalWrites(t *testing.T, s store.Store) {
	uid := newUser(t, s, "u")
	before := s.LocalWrites()
	mustCreate(t, s, minimalSession("w", uid))
	if s.LocalWrites() == before {
		t.Fatal("LocalWrites did not move after CreateSession")
	}
	before = s.LocalWrites()
	if err := s.DeleteSession(ctx(t), "w"); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	if s.LocalWrites() == before {
		t.Fatal("LocalWrites did not move after DeleteSession")
	}
}

func testChangesPrune(t *testing.T, s store.Store) {
	uid := newUser(t, s, "u")
	mustCreate(t, s, minimalSession("p", uid))
	cur := startCursor(t, s)
	if err := s.DeleteSession(ctx(t), "p"); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	// Changes are stamped with the database's clock.
	if n, err := s.PruneChanges(ctx(t), time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("PruneChanges(an hour ago) = %d, %v; want 0, nil", n, err)
	}
	wantChanged(t, "after pruning older changes", changesAfter(t, s, cur).Sessions, "p", true)
	if n, err := s.PruneChanges(ctx(t), time.Now().Add(time.Hour)); err != nil || n < 1 {
		t.Fatalf("PruneChanges(in an hour) = %d, %v; want >= 1, nil", n, err)
	}
	wantChanged(t, "after pruning every change", changesAfter(t, s, cur).Sessions, "p", false)
}
