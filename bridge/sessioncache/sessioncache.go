// Package sessioncache keeps recently authenticated sessions in memory so
// that a session check costs no store read, and forgets them as soon as
// the store says they changed.
//
// Revocation is the price of a cache, and it is paid here, not by the
// callers: the store records every write that can change a session check
// (store.Changes, filled by database triggers whatever code path or
// process wrote), and the cache follows that feed:
//
//   - writes made through this process's store are seen before the next
//     lookup answers (LocalWrites moved: the lookup polls the feed first);
//   - writes of other processes are seen at the next poll (Interval), or
//     at once when the backend pushes a wake-up (PostgreSQL NOTIFY);
//   - an entry is served only while the last successful poll started less
//     than MaxStale ago, so a store that stops answering, a lost
//     notification or a stalled poller turns the cache off, never stale;
//   - a notification connection that drops flushes the cache, and polls
//     run at FallbackInterval until it listens again;
//   - a TRUNCATE of sessions or users, or more changes than one batch of
//     the feed holds, flushes the cache;
//   - whatever the feed says, an entry is served at most MaxAge (1 minute)
//     after the store read it: a write the feed missed (its triggers
//     disabled by hand, say) is seen within a minute.
//
// Durations are measured on a monotonic clock, so a step of the wall
// clock neither keeps stale entries fresh nor turns the cache off.
//
// Memory is bounded by Size entries (least recently used go first).
package sessioncache

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/simplelru"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// Options configures a Cache. Feed is required.
type Options struct {
	Feed store.Changes
	// Listener, when set, wakes the poller as changes commit.
	Listener store.ChangeListener
	// Size caps the number of cached sessions (default 20000).
	Size int
	// Interval is the poll period (default 250ms); FallbackInterval the
	// period while a Listener is not listening (default Interval).
	Interval, FallbackInterval time.Duration
	// MaxStale bounds how old the last successful poll may be for an
	// entry to be served (default 1s): the revocation bound across
	// instances.
	MaxStale time.Duration
	// Redial is the pause before listening again after the listening
	// connection failed (default 1s).
	Redial time.Duration
	// WakeGap is the least time from one poll's start to the next that a
	// notification starts (default 20ms). A lone change is polled at
	// once; under a stream of them (every login that removes a session
	// over the cap notifies, as does every refresh), one poll serves all
	// that committed in the gap instead of one poll per commit, which on
	// PostgreSQL cost the database a third of a core at 700 logins/s.
	WakeGap time.Duration
	// Prune is how long changes are kept in the store (default 10m);
	// Run deletes older ones about once a minute.
	Prune  time.Duration
	Logger *slog.Logger
	// Elapsed reads a monotonic clock: the time since a fixed origin
	// (default: since New, on Go's monotonic clock). Tests inject it.
	Elapsed func() time.Duration
}

// MaxAge is how long after the store read it an entry may be served,
// whatever the change feed says: the bound for writes the feed cannot see.
const MaxAge = time.Minute

// entry is a cached session and when (Elapsed) the store read it.
type entry struct {
	sess store.Session
	read time.Duration
}

// Cache is a bounded, revocation-following cache of sessions by ID. It is
// safe for concurrent use; Run must be running for it to serve anything.
type Cache struct {
	o Options

	mu     sync.Mutex
	lru    *simplelru.LRU // session ID → store.Session
	byUser map[string]map[string]struct{}
	// gen moves whenever entries are dropped, so that a Put computed from
	// a read that may predate the drop is refused (see Ticket).
	gen uint64

	// pollMu serializes polls; cursor and failed belong to it.
	pollMu sync.Mutex
	cursor string
	failed bool          // the last poll failed: the next one restarts the feed
	synced atomic.Uint64 // Feed.LocalWrites() when the last good poll began
	lastOK atomic.Int64  // Elapsed() when the last good poll began
	polled atomic.Bool   // a poll has succeeded (lastOK is set)

	listening atomic.Bool
	drops     atomic.Uint64
	wake      chan struct{}
}

// New returns a Cache; it serves nothing until Run's first poll.
func New(o Options) *Cache {
	if o.Size <= 0 {
		o.Size = 20000
	}
	if o.Interval <= 0 {
		o.Interval = 250 * time.Millisecond
	}
	if o.FallbackInterval <= 0 {
		o.FallbackInterval = o.Interval
	}
	if o.MaxStale <= 0 {
		o.MaxStale = time.Second
	}
	if o.Redial <= 0 {
		o.Redial = time.Second
	}
	if o.Prune <= 0 {
		o.Prune = 10 * time.Minute
	}
	if o.WakeGap <= 0 {
		o.WakeGap = 20 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Elapsed == nil {
		origin := time.Now()
		o.Elapsed = func() time.Duration { return time.Since(origin) }
	}
	c := &Cache{o: o, byUser: map[string]map[string]struct{}{}, wake: make(chan struct{}, 1)}
	c.lru, _ = simplelru.NewLRU(o.Size, c.onEvict) // only fails for Size <= 0
	return c
}

// Ticket is taken by Get before the caller reads the store, and given
// back to Put with what it read: the read may be stored only if nothing
// was dropped in between.
type Ticket struct {
	gen  uint64
	ok   bool
	read time.Duration // Elapsed() before the store read
}

// Get returns the cached session with that ID. On a miss the caller reads
// the store and hands the result to Put with the ticket.
func (c *Cache) Get(ctx context.Context, id string) (store.Session, bool, Ticket) {
	if !c.fresh() {
		return store.Session{}, false, Ticket{}
	}
	if c.o.Feed.LocalWrites() != c.synced.Load() {
		// This process wrote since the last poll: read the feed first,
		// so that its own revocations count at once.
		if err := c.pollLocal(ctx); err != nil {
			return store.Session{}, false, Ticket{}
		}
	}
	now := c.o.Elapsed()
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.lru.Get(id)
	if ok && now-v.(entry).read < MaxAge {
		return v.(entry).sess, true, Ticket{}
	}
	if ok {
		c.lru.Remove(id)
	}
	return store.Session{}, false, Ticket{gen: c.gen, ok: true, read: now}
}

// pollLocal runs the poll a lookup needs after a local write, detached
// from the caller's cancellation (a client that went away is no failure of
// the feed) but bounded in time.
func (c *Cache) pollLocal(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), localPollTimeout)
	defer cancel()
	return c.poll(ctx, false)
}

// Put caches sess, read from the store after t was taken.
func (c *Cache) Put(t Ticket, sess store.Session) {
	if !t.ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.gen != c.gen {
		return
	}
	c.lru.Add(sess.ID, entry{sess: sess, read: t.read})
	ids := c.byUser[sess.UserID]
	if ids == nil {
		ids = map[string]struct{}{}
		c.byUser[sess.UserID] = ids
	}
	ids[sess.ID] = struct{}{}
}

// Len returns the number of cached sessions.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// Listening reports whether the change listener is connected.
func (c *Cache) Listening() bool { return c.listening.Load() }

// Drops counts failures of the listening connection.
func (c *Cache) Drops() uint64 { return c.drops.Load() }

func (c *Cache) fresh() bool {
	return c.polled.Load() && c.o.Elapsed()-time.Duration(c.lastOK.Load()) < c.o.MaxStale
}

// onEvict keeps byUser in step with the LRU (called under mu).
func (c *Cache) onEvict(key, value any) {
	sess := value.(entry).sess
	if ids := c.byUser[sess.UserID]; ids != nil {
		delete(ids, sess.ID)
		if len(ids) == 0 {
			delete(c.byUser, sess.UserID)
		}
	}
}

// drop removes what a batch of changes names.
func (c *Cache) drop(b store.ChangeBatch) {
	if len(b.Sessions)+len(b.Users) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for _, id := range b.Sessions {
		c.lru.Remove(id)
	}
	for _, uid := range b.Users {
		for id := range c.byUser[uid] {
			c.lru.Remove(id)
		}
	}
}

// Flush drops every entry.
func (c *Cache) Flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.lru.Purge()
	clear(c.byUser)
}
