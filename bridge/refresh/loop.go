package refresh

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// storeOpTimeout bounds one scheduler query, so a hung database cannot
// wedge the loop past shutdown.
const storeOpTimeout = 10 * time.Second

// countInterval is how often the loop refreshes the due/overdue gauges.
const countInterval = time.Second

// Run refreshes due grants until ctx is done. It then stops claiming,
// lets requests already sent finish (each bounded by Timeout), gives the
// leases of claimed but unstarted grants back, and returns nil.
func (r *Refresher) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("refresh: Run is already running")
	}
	stop := make(chan struct{})
	defer func() {
		close(stop)
		r.wg.Wait()
		r.running.Store(false)
	}()
	r.log.Info("token refresher started", "owner", r.owner, "concurrency", r.limits.Concurrency, "before_expiry", r.beforeExpiry)
	fast := false
	for ctx.Err() == nil {
		wake, saturated, claimed := r.tick(ctx, stop, fast)
		if ctx.Err() != nil {
			break
		}
		if now := r.now(); claimed == 0 && !wake.IsZero() && !wake.After(now) {
			// Due rows that could not be claimed (claimed elsewhere in
			// between, or inconsistent): do not spin on them.
			wake = now.Add(time.Second)
		}
		fast = saturated
		if saturated {
			// Every slot is busy, the prefetch is waiting and more
			// grants are due: claim again as soon as there is room for
			// a batch, without the full tick's queries.
			select {
			case <-ctx.Done():
			case <-r.capacity.freed:
			}
			continue
		}
		r.sleep(ctx, wake)
	}
	r.log.Info("token refresher stopping", "in_flight", r.capacity.claimed.Load())
	return nil
}

// tick counts and claims due grants, dispatches them, and returns when the
// loop should wake next (zero: nothing scheduled). saturated reports that
// there is no room for a batch while grants may still be due; claimed how
// many grants were dispatched. A fast tick, and any tick within
// countInterval of the last count, skips the due/overdue counts and goes
// straight to claiming.
func (r *Refresher) tick(ctx context.Context, stop <-chan struct{}, fast bool) (wake time.Time, saturated bool, claimed int) {
	now := r.now()
	if !fast && r.countDueNow(now) {
		// The due and overdue gauges are sampled at most once per
		// countInterval: counting on every wake-up would double the
		// store work of a loop that wakes for each grant as it falls due.
		r.countedAt = now
		due, what, err := r.sampleDue(ctx, now)
		if err != nil {
			return r.tickFailed(now, what, err), false, 0
		}
		if due == 0 {
			return r.next(ctx, now), false, 0
		}
	}
	for ctx.Err() == nil {
		want := r.claimRoom()
		if want < r.minClaim() {
			return time.Time{}, true, claimed
		}
		before := r.capacity.released.Load()
		rows, err := r.claim(ctx, r.now(), want)
		r.capacity.adaptPrefetch(int(r.capacity.released.Load() - before))
		if err != nil {
			return r.tickFailed(now, "claim due grants", err), false, claimed
		}
		for _, s := range rows {
			r.dispatch(ctx, s, stop)
		}
		claimed += len(rows)
		if len(rows) < want {
			break
		}
	}
	return r.next(ctx, now), false, claimed
}

// countDueNow reports whether the gauges are due for a sample: on the
// first tick, countInterval after the last, or after the clock went back.
func (r *Refresher) countDueNow(now time.Time) bool {
	return r.countedAt.IsZero() || now.Sub(r.countedAt) >= countInterval || now.Before(r.countedAt)
}

// sampleDue sets the due and overdue gauges and returns the due count
// (on error, what failed).
func (r *Refresher) sampleDue(ctx context.Context, now time.Time) (due int, what string, err error) {
	if due, err = r.countDue(ctx, now); err != nil {
		return 0, "count due grants", err
	}
	r.metrics.due.Set(float64(due))
	over := 0
	if due > 0 {
		if over, err = r.countDue(ctx, now.Add(-overdueAfter)); err != nil {
			return 0, "count overdue grants", err
		}
	}
	r.metrics.overdue.Set(float64(over))
	return due, "", nil
}

func (r *Refresher) countDue(ctx context.Context, at time.Time) (int, error) {
	qctx, cancel := context.WithTimeout(ctx, storeOpTimeout)
	defer cancel()
	return r.store.CountDue(qctx, at)
}

// claim is not cancelled with ctx: a claim that reached the database must
// come back, so that its rows are dispatched (and, at shutdown, released)
// instead of sitting leased until the lease runs out.
func (r *Refresher) claim(ctx context.Context, now time.Time, limit int) ([]store.Session, error) {
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeOpTimeout)
	defer cancel()
	return r.store.ClaimDueGrants(qctx, r.owner, now, r.lease, limit)
}

func (r *Refresher) next(ctx context.Context, now time.Time) time.Time {
	qctx, cancel := context.WithTimeout(ctx, storeOpTimeout)
	defer cancel()
	at, ok, err := r.store.NextRefreshAt(qctx)
	if err != nil {
		return r.tickFailed(now, "read next refresh time", err)
	}
	if !ok {
		return time.Time{}
	}
	return at
}

// tickFailed logs a failed store access and returns when to try again.
func (r *Refresher) tickFailed(now time.Time, what string, err error) time.Time {
	if errors.Is(err, context.Canceled) {
		return now
	}
	r.log.Error("refresher: "+what, "err", err)
	return now.Add(min(r.pollInterval, time.Second+r.jitter(time.Second)))
}

// sleep waits until wake (zero: no grant scheduled), a Notify for an
// earlier time, PollInterval, or ctx. The poll is the safety net for grants
// that other processes create, which this one hears of only from the store.
func (r *Refresher) sleep(ctx context.Context, wake time.Time) {
	for {
		d := r.planSleep(&wake)
		if d <= 0 {
			return
		}
		t := r.clock.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			r.clearPlanned()
			return
		case <-t.C():
			r.clearPlanned()
			return
		case <-r.wake.notify:
			t.Stop() // and loop: notifyAt is folded into wake by planSleep
		}
	}
}

// planSleep folds the earliest Notify into *wake, records when the loop
// will wake (for Notify) and returns how long to sleep (<= 0: not at all).
func (r *Refresher) planSleep(wake *time.Time) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if at := r.wake.notifyAt; !at.IsZero() && (wake.IsZero() || at.Before(*wake)) {
		*wake = at
	}
	r.wake.notifyAt = time.Time{}
	now := r.now()
	d := r.pollInterval
	if !wake.IsZero() {
		d = min(d, wake.Sub(now))
	}
	if d <= 0 {
		r.wake.planned = time.Time{}
	} else {
		r.wake.planned = now.Add(d)
	}
	return d
}

func (r *Refresher) clearPlanned() {
	r.mu.Lock()
	r.wake.planned = time.Time{}
	r.mu.Unlock()
}

// dispatch hands one claimed grant to a worker goroutine, which waits for
// one of the Concurrency slots before sending its request. The loop claims
// at most prefetch grants more than there are slots, so the wait is short,
// and dispatch itself never blocks.
func (r *Refresher) dispatch(ctx context.Context, s store.Session, stop <-chan struct{}) {
	done := r.markActive(s.ID)
	if done == nil {
		// Our own worker still holds this grant (its lease ran out under
		// it); leave the row to that worker's write.
		r.log.Warn("refresher: grant claimed while still in progress here", "session", s.ID)
		return
	}
	c := &r.capacity
	c.claimed.Add(1)
	c.waiting.Add(1)
	r.metrics.inflight.Inc()
	r.wg.Add(1)
	var once sync.Once
	released := func() {
		once.Do(func() {
			c.waiting.Add(-1)
			c.released.Add(1)
			r.capacityFreed()
		})
	}
	go func() {
		defer r.wg.Done()
		defer func() {
			released() // if the grant ended without a request
			r.unmarkActive(s.ID, done)
			c.claimed.Add(-1)
			r.metrics.inflight.Dec()
			r.capacityFreed()
		}()
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.lease)
		defer cancel()
		r.refreshGrant(wctx, job{s: s, stop: stop, released: released})
	}()
}
