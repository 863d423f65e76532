package sessioncache

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/bridge/store/postgres"
	"github.com/sessionbridge/sessionbridge/bridge/store/sqlite"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testpg"
)

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// clock is an injected monotonic clock the tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Elapsed() time.Duration { c.mu.Lock(); defer c.mu.Unlock(); return c.now.Sub(t0) }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func openSQLite(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// seed creates a user with n sessions s0..s(n-1) and returns the user ID.
func seed(t *testing.T, s store.Store, uid string, ids ...string) string {
	t.Helper()
	u, err := s.UpsertIdentity(t.Context(), store.IdentityInput{Provider: "p", ProviderUID: uid}, t0)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		sess := store.Session{ID: id, UserID: u.ID, CreatedAt: t0, UpdatedAt: t0, Expire: t0.Add(time.Hour),
			SecretHash: []byte("h"), Provider: "p", AccessTokenSealed: []byte("a1")}
		if err := s.CreateSession(t.Context(), &sess); err != nil {
			t.Fatal(err)
		}
	}
	return u.ID
}

// authenticate is what bridge.Service does: the cache, else the store
// and a Put. It reports whether the session was found, and whether it
// came from the cache.
func authenticate(t *testing.T, c *Cache, s store.Store, id string) (found, cached bool) {
	t.Helper()
	_, ok, ticket := c.Get(t.Context(), id)
	if ok {
		return true, true
	}
	sess, err := s.GetSession(t.Context(), id)
	if err != nil {
		return false, false
	}
	c.Put(ticket, sess)
	return true, false
}

// newCache returns a polled (not running) cache on feed.
func newCache(t *testing.T, feed store.Changes, clk *clock, size int) *Cache {
	t.Helper()
	c := New(Options{Feed: feed, Size: size, Elapsed: clk.Elapsed})
	if err := c.Poll(t.Context()); err != nil {
		t.Fatalf("first poll: %v", err)
	}
	return c
}

func TestServesFromMemoryAndForgetsLocalRevocationAtOnce(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "db"))
	seed(t, s, "u", "a", "b")
	c := newCache(t, s, &clock{now: t0}, 10)
	if found, cached := authenticate(t, c, s, "a"); !found || cached {
		t.Fatalf("first check: found=%v cached=%v, want a store read", found, cached)
	}
	if found, cached := authenticate(t, c, s, "a"); !found || !cached {
		t.Fatalf("second check: found=%v cached=%v, want the cache", found, cached)
	}
	// No poll runs: the delete is seen because this process wrote it.
	if err := s.DeleteSession(t.Context(), "a"); err != nil {
		t.Fatal(err)
	}
	if found, _ := authenticate(t, c, s, "a"); found {
		t.Fatal("a session deleted by this process still authenticates")
	}
}

func TestOtherProcessChangesArriveByPoll(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	serve, daemon := openSQLite(t, path), openSQLite(t, path) // two handles: two processes
	uid := seed(t, serve, "u", "a", "b", "c")
	c := newCache(t, serve, &clock{now: t0}, 10)
	for _, id := range []string{"a", "b", "c"} {
		authenticate(t, c, serve, id)
	}
	// A refresh by the other process (a new token) and a delete; then a
	// user update (a login), which evicts all of the user's sessions.
	sess, _ := daemon.GetSession(t.Context(), "a")
	sess.AccessTokenSealed = []byte("a2")
	if err := daemon.CompareAndSwapSession(t.Context(), &sess); err != nil {
		t.Fatal(err)
	}
	if err := daemon.DeleteSession(t.Context(), "b"); err != nil {
		t.Fatal(err)
	}
	if _, cached := authenticate(t, c, serve, "a"); !cached {
		t.Fatal("cache dropped an entry before any poll (test setup)")
	}
	if err := c.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, ok, _ := c.Get(t.Context(), "a"); ok {
		t.Fatalf("refreshed session still cached with token %q", got.AccessTokenSealed)
	}
	if found, _ := authenticate(t, c, serve, "b"); found {
		t.Fatal("session deleted by another process still authenticates after a poll")
	}
	if got, _ := serve.GetSession(t.Context(), "a"); string(got.AccessTokenSealed) != "a2" {
		t.Fatalf("store has %q", got.AccessTokenSealed)
	}
	if _, err := daemon.UpsertIdentity(t.Context(), store.IdentityInput{Provider: "p", ProviderUID: "u", Name: "New"}, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, cached := authenticate(t, c, serve, "c"); !cached {
		t.Fatal("c not cached before the user update (test setup)")
	}
	if err := c.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := c.Get(t.Context(), "c"); ok {
		t.Fatalf("user %s was updated elsewhere but their session stayed cached", uid)
	}
}

func TestStaleFeedServesNothing(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "db"))
	seed(t, s, "u", "a")
	clk := &clock{now: t0}
	c := newCache(t, s, clk, 10)
	authenticate(t, c, s, "a")
	clk.Add(2 * time.Second) // past MaxStale without a successful poll
	if _, ok, ticket := c.Get(t.Context(), "a"); ok || ticket.ok {
		t.Fatalf("served or accepted entries with a stale feed: ok=%v ticket=%v", ok, ticket.ok)
	}
	if err := c.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if found, cached := authenticate(t, c, s, "a"); !found || !cached {
		t.Fatalf("after a fresh poll: found=%v cached=%v", found, cached)
	}
}

// TestPutAfterDropIsRefused: a read that may predate an eviction must not
// be cached (it could be the revoked row).
func TestPutAfterDropIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	s, other := openSQLite(t, path), openSQLite(t, path)
	seed(t, s, "u", "a", "b")
	c := newCache(t, s, &clock{now: t0}, 10)
	_, _, ticket := c.Get(t.Context(), "a")
	stale, _ := s.GetSession(t.Context(), "a")
	if err := other.DeleteSession(t.Context(), "a"); err != nil {
		t.Fatal(err)
	}
	if err := c.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	c.Put(ticket, stale)
	if _, ok, _ := c.Get(t.Context(), "a"); ok {
		t.Fatal("a read from before an eviction was cached")
	}
}

func TestSizeIsBounded(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "db"))
	seed(t, s, "u", "a", "b", "c", "d")
	c := newCache(t, s, &clock{now: t0}, 2)
	for _, id := range []string{"a", "b", "c", "d"} {
		authenticate(t, c, s, id)
	}
	if n := c.Len(); n != 2 {
		t.Fatalf("Len = %d, want the cap 2", n)
	}
	if len(c.byUser) != 1 || len(c.byUser[c.mustUser(t, s, "d")]) != 2 {
		t.Fatalf("user index out of step with the LRU: %v", c.byUser)
	}
}

func (c *Cache) mustUser(t *testing.T, s store.Store, id string) string {
	t.Helper()
	sess, err := s.GetSession(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return sess.UserID
}

// pgInstances opens two stores on one fresh PostgreSQL schema, each with
// a running cache whose poll never fires on its own (an hour): only a
// notification, or the fallback after a lost one, can deliver changes.
func pgInstances(t *testing.T) (a, b *postgres.Store, cb *Cache, dsn string) {
	t.Helper()
	dsn = testpg.FreshDSN(t, testpg.DSN(t), "sbcache_")
	open := func() *postgres.Store {
		s, err := postgres.Open(t.Context(), dsn, 4)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	a, b = open(), open()
	cb = New(Options{Feed: b, Listener: b, Interval: time.Hour, MaxStale: time.Hour,
		FallbackInterval: 50 * time.Millisecond, Redial: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); cb.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitUntil(t, "the listener to listen", func() bool { return cb.Listening() && cb.fresh() })
	return a, b, cb, dsn
}

// waitUntil polls cond for a deadline generous enough for -race on a
// shared machine; it asserts an outcome, not a duration.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPostgresRevocationReachesSecondInstanceByNotify(t *testing.T) {
	a, b, cb, _ := pgInstances(t)
	seed(t, a, "u", "s1")
	if found, _ := authenticate(t, cb, b, "s1"); !found {
		t.Fatal("not found")
	}
	if _, cached := authenticate(t, cb, b, "s1"); !cached {
		t.Fatal("not cached")
	}
	if err := a.DeleteSession(t.Context(), "s1"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the revocation to reach instance B", func() bool {
		found, _ := authenticate(t, cb, b, "s1")
		return !found
	})
}

func TestPostgresLostNotificationsFallBackToPolling(t *testing.T) {
	a, b, cb, dsn := pgInstances(t)
	seed(t, a, "u", "s1", "s2")
	authenticate(t, cb, b, "s1")
	// Drop the listening connections of this schema (both instances').
	var schema string
	conn, err := testpg.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if err := conn.QueryRow(t.Context(), "SELECT current_schema()").Scan(&schema); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(t.Context(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE application_name = left('sessionbridge changes ' || $1, 63)`, schema); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "instance B to notice the dropped connection", func() bool { return cb.Drops() == 1 && !cb.Listening() })
	if _, cached := authenticate(t, cb, b, "s1"); cached {
		t.Fatal("the cache was not flushed when notifications were lost")
	}
	// B stays unable to listen (Redial is an hour): the revocation can
	// only arrive by the fallback poll.
	if _, cached := authenticate(t, cb, b, "s2"); cached {
		t.Fatal("s2 cached before its first read (test setup)")
	}
	waitUntil(t, "s2 to be cached again", func() bool { _, cached := authenticate(t, cb, b, "s2"); return cached })
	if err := a.DeleteSession(t.Context(), "s2"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the revocation to reach instance B by polling", func() bool {
		found, _ := authenticate(t, cb, b, "s2")
		return !found
	})
	if cb.Listening() {
		t.Fatal("B listened again; the test did not exercise the fallback")
	}
}

// failingFeed fails ChangesSince while fail is set.
type failingFeed struct {
	store.Changes
	fail bool
}

func (f *failingFeed) ChangesSince(ctx context.Context, cursor string) (store.ChangeBatch, error) {
	if f.fail {
		return store.ChangeBatch{}, context.DeadlineExceeded
	}
	return f.Changes.ChangesSince(ctx, cursor)
}

// TestFailedPollFlushes: after the feed could not be read, nothing read
// before is trusted again.
func TestFailedPollFlushes(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "db"))
	seed(t, s, "u", "a")
	feed := &failingFeed{Changes: s}
	c := newCache(t, feed, &clock{now: t0}, 10)
	authenticate(t, c, s, "a")
	feed.fail = true
	if err := c.Poll(t.Context()); err == nil {
		t.Fatal("Poll succeeded on a failing feed")
	}
	feed.fail = false
	if err := c.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, cached := authenticate(t, c, s, "a"); cached {
		t.Fatal("an entry cached before a failed poll survived it")
	}
}

// countingFeed counts ChangesSince calls.
type countingFeed struct {
	store.Changes
	polls atomic.Int64
}

func (f *countingFeed) ChangesSince(ctx context.Context, cursor string) (store.ChangeBatch, error) {
	f.polls.Add(1)
	return f.Changes.ChangesSince(ctx, cursor)
}

// chanListener is a ChangeListener that wakes once per value sent on
// notify, as PostgreSQL's NOTIFY would per commit.
type chanListener struct{ notify chan struct{} }

func (l chanListener) ListenChanges(ctx context.Context, wake func()) error {
	wake()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-l.notify:
			wake()
		}
	}
}

// TestNotificationStreamSharesPolls: a stream of notifications is read
// by one poll per WakeGap, not one per notification, and the last
// notification of the stream is still polled.
func TestNotificationStreamSharesPolls(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "db"))
	feed := &countingFeed{Changes: s}
	l := chanListener{notify: make(chan struct{})}
	const gap = 200 * time.Millisecond
	c := New(Options{Feed: feed, Listener: l, Interval: time.Hour, WakeGap: gap})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitUntil(t, "the first poll", func() bool { return c.Listening() && c.fresh() })
	seed(t, s, "u", "s1")
	before := feed.polls.Load()
	began := time.Now()
	const notifications = 40
	for range notifications {
		l.notify <- struct{}{}
		time.Sleep(5 * time.Millisecond)
	}
	// Each notification is answered by a poll at most one gap later.
	waitUntil(t, "a poll after the last notification", func() bool {
		return feed.polls.Load() > before && time.Since(began) > gap
	})
	time.Sleep(2 * gap)
	polls := feed.polls.Load() - before
	// At most one poll per gap (plus the one a gap after the stream): the
	// bound grows with the time the stream took, however slow the machine.
	allowed := int64(time.Since(began)/gap) + 2
	if polls > allowed || polls >= notifications {
		t.Fatalf("%d notifications in %v took %d polls, want at most %d", notifications, time.Since(began), polls, allowed)
	}
}
