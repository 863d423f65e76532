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

// Poll reads the change feed once and drops what changed.
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
	started := c.o.Now()
	writes = c.o.Feed.LocalWrites()
	err := c.read(ctx, started)
	c.failed = err != nil
	if err != nil {
		return err
	}
	c.synced.Store(writes)
	c.lastOK.Store(started.UnixNano())
	return nil
}

// read reads the feed from the cursor, or restarts it (after a failed
// poll, or a pause longer than restartAfter: the store may have lost or
// pruned changes meanwhile).
func (c *Cache) read(ctx context.Context, started time.Time) error {
	if c.cursor == 0 || c.failed || started.Sub(time.Unix(0, c.lastOK.Load())) > restartAfter {
		// Start (or restart) from now, then flush: an entry read before
		// the new cursor cannot outlive the flush (its ticket is older).
		b, err := c.o.Feed.ChangesSince(ctx, 0)
		if err != nil {
			return err
		}
		c.cursor = b.Cursor
		c.Flush()
	} else {
		b, err := c.o.Feed.ChangesSince(ctx, c.cursor)
		if err != nil {
			return err
		}
		c.drop(b)
		c.cursor = b.Cursor
	}
	return nil
}

// Run polls the feed until ctx ends, listens for wake-ups when a Listener
// is set, and prunes old changes about once a minute.
func (c *Cache) Run(ctx context.Context) {
	if c.o.Listener != nil {
		listening := make(chan struct{})
		go func() { defer close(listening); c.listen(ctx) }()
		defer func() { <-listening }()
	}
	nextPrune := c.o.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-c.wake:
		}
		if err := c.Poll(ctx); err != nil && ctx.Err() == nil {
			c.o.Logger.Warn("session cache: change feed unreadable; serving from the store", "err", err)
		}
		if now := c.o.Now(); !now.Before(nextPrune) {
			nextPrune = now.Add(time.Minute)
			prune(ctx, c.o.Feed, now.Add(-c.o.Prune), c.o.Logger)
		}
		timer.Reset(c.interval())
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

func prune(ctx context.Context, feed store.Changes, before time.Time, log *slog.Logger) {
	if _, err := feed.PruneChanges(ctx, before); err != nil && ctx.Err() == nil {
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
		prune(ctx, feed, time.Now().Add(-horizon), log)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
