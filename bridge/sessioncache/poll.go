package sessioncache

import (
	"context"
	"log/slog"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// restartAfter: a cache whose last good poll is older than this starts
// the feed afresh (flushing), so that changes pruned meanwhile cannot be
// missed. It is well below the prune horizon.
const restartAfter = time.Minute

// localPollTimeout bounds the poll a lookup runs after a local write. It
// runs detached from the request, so that a client going away does not
// count as a failed poll (which would flush the cache).
const localPollTimeout = 5 * time.Second

// Poll reads the change feed up to now and drops what changed.
func (c *Cache) Poll(ctx context.Context) error { return c.poll(ctx, true) }

// poll reads the feed; unless always, it returns at once when a poll that
// began after this process's latest write has finished meanwhile
// (concurrent lookups after a write share one poll).
func (c *Cache) poll(ctx context.Context, always bool) error {
	writes := c.o.Feed.LocalWrites()
	c.pollMu.Lock()
	defer c.pollMu.Unlock()
	if !always && c.synced.Load() == writes && c.fresh() {
		return nil
	}
	started := c.o.Elapsed()
	writes = c.o.Feed.LocalWrites()
	err := c.read(ctx, started)
	c.failed = err != nil
	if err != nil {
		return err
	}
	c.synced.Store(writes)
	c.lastOK.Store(int64(started))
	c.polled.Store(true)
	return nil
}

// read reads the feed from the cursor until it is up to date, or restarts
// it (after a failed poll, or a pause longer than restartAfter: the store
// may have lost or pruned changes meanwhile).
func (c *Cache) read(ctx context.Context, started time.Duration) error {
	if c.cursor == "" || c.failed || started-time.Duration(c.lastOK.Load()) > restartAfter {
		// Start (or restart) from now, then flush: an entry read before
		// the new cursor cannot outlive the flush (its ticket is older).
		b, err := c.o.Feed.ChangesSince(ctx, "")
		if err != nil {
			return err
		}
		c.cursor = b.Cursor
		c.Flush()
		return nil
	}
	for {
		b, err := c.o.Feed.ChangesSince(ctx, c.cursor)
		if err != nil {
			return err
		}
		if b.All {
			c.Flush()
		} else {
			c.drop(b)
		}
		c.cursor = b.Cursor
		if !b.More {
			return nil
		}
	}
}

// Run polls the feed until ctx ends, listens for wake-ups when a Listener
// is set, and prunes old changes about once a minute.
func (c *Cache) Run(ctx context.Context) {
	if c.o.Listener != nil {
		listening := make(chan struct{})
		go func() { defer close(listening); c.listen(ctx) }()
		defer func() { <-listening }()
	}
	nextPrune := c.o.Elapsed()
	lastPoll := nextPrune - c.o.WakeGap
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-c.wake:
			if !c.sleep(ctx, lastPoll+c.o.WakeGap-c.o.Elapsed()) {
				return
			}
		}
		lastPoll = c.o.Elapsed()
		if err := c.Poll(ctx); err != nil && ctx.Err() == nil {
			c.o.Logger.Warn("session cache: change feed unreadable; serving from the store", "err", err)
		}
		if now := c.o.Elapsed(); now >= nextPrune {
			nextPrune = now + time.Minute
			prune(ctx, c.o.Feed, c.o.Prune, c.o.Logger)
		}
		timer.Reset(c.interval())
	}
}

// sleep waits d (nothing when d <= 0); false when ctx ended first.
func (c *Cache) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (c *Cache) interval() time.Duration {
	if c.o.Listener != nil && !c.listening.Load() {
		return min(c.o.Interval, c.o.FallbackInterval)
	}
	return c.o.Interval
}

// wakeUp asks Run to poll now.
func (c *Cache) wakeUp() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// listen keeps a listening connection; when it fails, notifications may
// have been lost, so the cache is flushed and polls at FallbackInterval
// until it listens again (and polls once more then).
func (c *Cache) listen(ctx context.Context) {
	for {
		err := c.o.Listener.ListenChanges(ctx, func() {
			c.listening.Store(true)
			c.wakeUp()
		})
		if ctx.Err() != nil {
			return
		}
		if c.listening.Swap(false) {
			c.drops.Add(1)
		}
		c.Flush()
		c.wakeUp()
		c.o.Logger.Warn("session cache: change notifications lost; flushed, polling", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(c.o.Redial):
		}
	}
}

func prune(ctx context.Context, feed store.Changes, horizon time.Duration, log *slog.Logger) {
	if _, err := feed.PruneChanges(ctx, horizon); err != nil && ctx.Err() == nil {
		log.Warn("session cache: prune changes", "err", err)
	}
}

// RunPruner deletes changes older than horizon about once a minute until
// ctx ends: a process without a cache still keeps the feed short for
// the processes that follow it.
func RunPruner(ctx context.Context, feed store.Changes, horizon time.Duration, log *slog.Logger) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		prune(ctx, feed, horizon, log)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
