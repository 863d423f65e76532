package sessioncache

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/bridge/store/postgres"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testpg"
)

// openPostgres opens a store on a fresh PostgreSQL schema and returns its DSN.
func openPostgres(t *testing.T) (*postgres.Store, string) {
	t.Helper()
	dsn := testpg.FreshDSN(t, testpg.DSN(t), "sbcache_")
	s, err := postgres.Open(t.Context(), dsn, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, dsn
}

// bulkSessions creates a user with n sessions in one statement.
func bulkSessions(t *testing.T, s store.Store, uid string, n int) string {
	t.Helper()
	u, err := s.UpsertIdentity(t.Context(), store.IdentityInput{Provider: "p", ProviderUID: uid}, t0)
	if err != nil {
		t.Fatal(err)
	}
	list := make([]*store.Session, n)
	for i := range list {
		list[i] = &store.Session{ID: fmt.Sprintf("%s-%d", uid, i), UserID: u.ID, CreatedAt: t0, UpdatedAt: t0,
			Expire: t0.Add(time.Hour), SecretHash: []byte("h"), Provider: "p", AccessTokenSealed: []byte("a1")}
	}
	if err := s.CreateSessions(t.Context(), list); err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// testRevocationAfterBulkDelete: a bulk delete of more sessions than one
// batch of the feed holds, then one revocation: the revoked session is
// not served from the cache (the poll reads the feed to its end, or
// flushes).
func testRevocationAfterBulkDelete(t *testing.T, s store.Store) {
	bulk := bulkSessions(t, s, "bulk", 10001)
	seed(t, s, "v", "victim")
	c := newCache(t, s, &clock{now: t0}, 10)
	if _, cached := authenticate(t, c, s, "victim"); cached {
		t.Fatal("victim cached before its first read (test setup)")
	}
	if _, cached := authenticate(t, c, s, "victim"); !cached {
		t.Fatal("victim not cached after a read (test setup)")
	}
	if n, err := s.DeleteUserSessions(t.Context(), bulk); err != nil || n != 10001 {
		t.Fatalf("DeleteUserSessions = %d, %v", n, err)
	}
	if err := s.DeleteSession(t.Context(), "victim"); err != nil {
		t.Fatal(err)
	}
	if found, cached := authenticate(t, c, s, "victim"); found || cached {
		t.Fatalf("a revoked session still authenticates (cached: %v) after a bulk delete", cached)
	}
}

func TestSQLiteRevocationAfterBulkDelete(t *testing.T) {
	testRevocationAfterBulkDelete(t, openSQLite(t, filepath.Join(t.TempDir(), "db")))
}

func TestPostgresRevocationAfterBulkDelete(t *testing.T) {
	s, _ := openPostgres(t)
	testRevocationAfterBulkDelete(t, s)
}

// TestPostgresTruncateFlushes: TRUNCATE fires no row trigger; its
// statement trigger's change flushes the cache.
func TestPostgresTruncateFlushes(t *testing.T) {
	s, dsn := openPostgres(t)
	seed(t, s, "u", "a")
	c := newCache(t, s, &clock{now: t0}, 10)
	authenticate(t, c, s, "a")
	if _, cached := authenticate(t, c, s, "a"); !cached {
		t.Fatal("a not cached (test setup)")
	}
	testpg.Exec(t, dsn, "TRUNCATE sessions CASCADE")
	if err := c.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if found, cached := authenticate(t, c, s, "a"); found || cached {
		t.Fatalf("a truncated session still authenticates (cached: %v)", cached)
	}
}

// blindFeed is a change feed that misses every change (as when the
// database's triggers are disabled by hand).
type blindFeed struct{ store.Changes }

func (f blindFeed) ChangesSince(ctx context.Context, cursor string) (store.ChangeBatch, error) {
	b, err := f.Changes.ChangesSince(ctx, cursor)
	return store.ChangeBatch{Cursor: b.Cursor, More: b.More}, err
}

// TestEntriesExpireWithoutFeed: an entry is served at most MaxAge after
// the store read it, whatever the feed says.
func TestEntriesExpireWithoutFeed(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "db"))
	seed(t, s, "u", "a")
	clk := &clock{now: t0}
	c := newCache(t, blindFeed{s}, clk, 10)
	authenticate(t, c, s, "a")
	if err := s.DeleteSession(t.Context(), "a"); err != nil {
		t.Fatal(err)
	}
	for range 3 { // keep polling (fresh) while MaxAge passes
		clk.Add(MaxAge / 2)
		if err := c.Poll(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if found, cached := authenticate(t, c, s, "a"); found || cached {
		t.Fatalf("an entry older than MaxAge was served (cached: %v)", cached)
	}
}

// TestCallerCancellationIsNoFeedFailure: a lookup whose client went away
// still completes the poll it needed; the cache is not flushed.
func TestCallerCancellationIsNoFeedFailure(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "db"))
	seed(t, s, "u", "a", "b")
	c := newCache(t, s, &clock{now: t0}, 10)
	authenticate(t, c, s, "a")
	if err := s.DeleteSession(t.Context(), "b"); err != nil { // a local write: the next Get polls
		t.Fatal(err)
	}
	gone, cancel := context.WithCancel(t.Context())
	cancel()
	if _, ok, _ := c.Get(gone, "a"); !ok {
		t.Fatal("a cancelled lookup missed the cache")
	}
	if _, cached := authenticate(t, c, s, "a"); !cached {
		t.Fatal("the cache was flushed after a client went away")
	}
}

// TestFreshnessFollowsTheMonotonicClock: freshness and entry age come
// from Elapsed only; a poll a MaxStale ago on that clock is stale whatever
// the wall clock says.
func TestFreshnessFollowsTheMonotonicClock(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "db"))
	seed(t, s, "u", "a")
	clk := &clock{now: t0}
	c := New(Options{Feed: s, Elapsed: clk.Elapsed})
	if err := c.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	authenticate(t, c, s, "a")
	clk.Add(time.Second)
	if _, cached := authenticate(t, c, s, "a"); cached {
		t.Fatal("served after MaxStale on the monotonic clock")
	}
	var d time.Duration
	if d = New(Options{Feed: s}).o.Elapsed(); d < 0 || d > time.Hour {
		t.Fatalf("default Elapsed = %v, want the (small) time since New", d)
	}
}
