package storetest

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

var sessionTests = []test{
	{"RoundTrip", testSessionRoundTrip},
	{"NotFound", testSessionNotFound},
	{"ListAndDelete", testSessionListAndDelete},
	{"CompareAndSwap", testCompareAndSwap},
	{"CompareAndSwapConcurrent", testCompareAndSwapConcurrent},
	{"CompareAndSwapManyRows", testCompareAndSwapManyRows},
	{"DeleteExpired", testDeleteExpiredSessions},
}

func testSessionRoundTrip(t *testing.T, s store.Store) {
	uid := newUser(t, s, "rt")
	full := fullSession("full", uid)
	full.LeaseOwner = "node-1"
	full.LeaseUntil = full.RefreshAt
	full.Version = 99 // CreateSession must reset it to 1
	created := mustCreate(t, s, full)
	wantEqual(t, "full session", created, mustGet(t, s, "full"))

	minimal := mustCreate(t, s, minimalSession("minimal", uid))
	got := mustGet(t, s, "minimal")
	wantEqual(t, "minimal session", minimal, got)
	if !got.RefreshAt.IsZero() || !got.LeaseUntil.IsZero() || !got.AccessTokenExpiry.IsZero() {
		t.Fatalf("zero times came back non-zero: %+v", got)
	}
	if len(got.AccessTokenSealed) != 0 || len(got.RefreshTokenSealed) != 0 {
		t.Fatalf("absent tokens came back non-empty: %+v", got)
	}

	// A session ID is unique.
	dup := minimalSession("minimal", uid)
	if err := s.CreateSession(ctx(t), &dup); err == nil {
		t.Fatal("CreateSession accepted a duplicate ID")
	}
}

func testSessionNotFound(t *testing.T, s store.Store) {
	_, err := s.GetSession(ctx(t), "nosuch")
	wantErr(t, "GetSession(unknown)", err, store.ErrNotFound)
	wantErr(t, "DeleteSession(unknown)", s.DeleteSession(ctx(t), "nosuch"), store.ErrNotFound)
	list, err := s.ListSessions(ctx(t), "nosuchuser")
	if err != nil || len(list) != 0 {
		t.Fatalf("ListSessions(unknown) = %v, %v; want empty", list, err)
	}
	n, err := s.DeleteUserSessions(ctx(t), "nosuchuser")
	if err != nil || n != 0 {
		t.Fatalf("DeleteUserSessions(unknown) = %d, %v; want 0", n, err)
	}
}

func testSessionListAndDelete(t *testing.T, s store.Store) {
	u1, u2 := newUser(t, s, "one"), newUser(t, s, "two")
	// Inserted out of order: the list must follow CreatedAt, not insertion.
	for _, c := range []struct {
		id  string
		age time.Duration
	}{{"b", 2 * time.Minute}, {"c", 3 * time.Minute}, {"a", 1 * time.Minute}} {
		sess := fullSession(c.id, u1)
		sess.CreatedAt = base.Add(c.age)
		mustCreate(t, s, sess)
	}
	mustCreate(t, s, fullSession("other", u2))

	list, err := s.ListSessions(ctx(t), u1)
	if err != nil {
		t.Fatalf("ListSessions: %v", err)
	}
	if got := ids(list); got != "a,b,c" {
		t.Fatalf("ListSessions order = %s, want a,b,c", got)
	}
	wantEqual(t, "listed session", mustGet(t, s, "b"), list[1])

	if err := s.DeleteSession(ctx(t), "b"); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	_, err = s.GetSession(ctx(t), "b")
	wantErr(t, "GetSession(deleted)", err, store.ErrNotFound)
	wantErr(t, "DeleteSession(deleted)", s.DeleteSession(ctx(t), "b"), store.ErrNotFound)

	n, err := s.DeleteUserSessions(ctx(t), u1)
	if err != nil || n != 2 {
		t.Fatalf("DeleteUserSessions = %d, %v; want 2", n, err)
	}
	if list, _ := s.ListSessions(ctx(t), u1); len(list) != 0 {
		t.Fatalf("sessions left after DeleteUserSessions: %s", ids(list))
	}
	if list, _ := s.ListSessions(ctx(t), u2); ids(list) != "other" {
		t.Fatalf("another user's sessions = %s, want other", ids(list))
	}
}

func ids(list []store.Session) string {
	out := ""
	for i, s := range list {
		if i > 0 {
			out += ","
		}
		out += s.ID
	}
	return out
}

func testCompareAndSwap(t *testing.T, s store.Store) {
	uid := newUser(t, s, "cas")
	orig := mustCreate(t, s, fullSession("s", uid))
	stale := orig

	// Change every mutable field, including clearing optional ones.
	next := orig
	next.Expire = base.Add(48 * time.Hour)
	next.UpdatedAt = base.Add(5 * time.Minute)
	next.AccessTokenSealed = []byte("new-access")
	next.RefreshTokenSealed = nil
	next.AccessTokenExpiry = time.Time{}
	next.RefreshedAt = base.Add(7 * time.Minute)
	next.RefreshAt = time.Time{}
	next.RefreshFailures = 0
	next.LeaseOwner = "me"
	next.LeaseUntil = base.Add(time.Minute)
	next.EmailVerified = false
	next.Client.IP = "198.51.100.1"
	next.Client.CountryCode = "fr"
	next.Client.CountryName = "France"
	if err := s.CompareAndSwapSession(ctx(t), &next); err != nil {
		t.Fatalf("CompareAndSwapSession: %v", err)
	}
	if next.Version != 2 {
		t.Fatalf("Version after CAS = %d, want 2", next.Version)
	}
	wantEqual(t, "session after CAS", next, mustGet(t, s, "s"))

	// Immutable fields are not written by CAS.
	tamper := next
	tamper.UserID = "someone-else"
	tamper.CreatedAt = base.Add(-time.Hour)
	tamper.SecretHash = []byte("other")
	tamper.Provider = "other"
	tamper.ProviderUID = "other"
	if err := s.CompareAndSwapSession(ctx(t), &tamper); err != nil {
		t.Fatalf("CompareAndSwapSession: %v", err)
	}
	want := next
	want.Version = 3
	wantEqual(t, "immutable fields after CAS", want, mustGet(t, s, "s"))

	stale.AccessTokenSealed = []byte("lost update")
	wantErr(t, "CAS with stale version", s.CompareAndSwapSession(ctx(t), &stale), store.ErrConflict)
	if stale.Version != 1 {
		t.Fatalf("failed CAS changed the caller's Version to %d", stale.Version)
	}
	wantEqual(t, "session after failed CAS", want, mustGet(t, s, "s"))

	if err := s.DeleteSession(ctx(t), "s"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "CAS on deleted session", s.CompareAndSwapSession(ctx(t), &want), store.ErrNotFound)
}

// testCompareAndSwapConcurrent runs read-modify-write loops from several
// goroutines; with a correct CAS no increment is lost.
func testCompareAndSwapConcurrent(t *testing.T, s store.Store) {
	uid := newUser(t, s, "casc")
	sess := minimalSession("c", uid)
	mustCreate(t, s, sess)
	const workers, each = 6, 8
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for done := 0; done < each; {
				cur, err := s.GetSession(ctx(t), "c")
				if err != nil {
					errs <- err
					return
				}
				cur.RefreshFailures++
				switch err := s.CompareAndSwapSession(ctx(t), &cur); {
				case err == nil:
					done++
				case errors.Is(err, store.ErrConflict):
				default:
					errs <- fmt.Errorf("CAS: %w", err)
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
	got := mustGet(t, s, "c")
	if got.RefreshFailures != workers*each || got.Version != 1+workers*each {
		t.Fatalf("after %d CAS increments: RefreshFailures=%d Version=%d", workers*each, got.RefreshFailures, got.Version)
	}
}

func testDeleteExpiredSessions(t *testing.T, s store.Store) {
	uid := newUser(t, s, "exp")
	now := base.Add(10 * time.Hour)
	for i, expire := range []time.Time{now.Add(-time.Hour), now.Add(-time.Millisecond), now.Add(-time.Minute),
		now.Add(time.Millisecond), now.Add(time.Hour)} {
		sess := minimalSession(fmt.Sprintf("e%d", i), uid)
		sess.Expire = expire
		mustCreate(t, s, sess)
	}
	var removed []string
	for _, want := range []int{2, 1, 0} { // bounded batches of 2
		refs, err := s.DeleteExpiredSessions(ctx(t), now, 2)
		if err != nil || len(refs) != want {
			t.Fatalf("DeleteExpiredSessions(limit 2) = %v, %v; want %d rows", refs, err, want)
		}
		for _, r := range refs {
			if r.UserID != uid || r.Provider != "test" {
				t.Fatalf("removed session ref = %+v", r)
			}
			removed = append(removed, r.ID)
		}
	}
	sort.Strings(removed)
	if strings.Join(removed, ",") != "e0,e1,e2" {
		t.Fatalf("removed %v, want e0,e1,e2", removed)
	}
	list, _ := s.ListSessions(ctx(t), uid)
	if ids(list) != "e3,e4" {
		t.Fatalf("sessions left = %s, want e3,e4", ids(list))
	}
	if _, err := s.GetUser(ctx(t), uid); err != nil {
		t.Fatalf("the user went with the sessions: %v", err)
	}
}
