// Package janitor deletes what outside callers leave behind in the store:
// expired pending logins, unused login tokens and expired sessions (never
// users: Appwrite keeps them, and their ID, prefs and status must survive
// having no session).
//
// It runs in every serve and refresh process, but at most once per period
// per cluster: each run first claims the chore in the store
// (store.Housekeeping), so one instance works and the others skip. Rows
// go in bounded batches, each its own short statement, so a backlog of
// millions never holds a long lock.
package janitor

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sessionbridge/sessionbridge/bridge/lifecycle"
	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// Defaults.
const (
	DefaultEvery      = time.Minute
	DefaultBatch      = 500
	DefaultMaxBatches = 400 // per kind and run: 200,000 rows a minute at most
	// choreName is the janitor's row in the store's chores table.
	choreName = "janitor"
)

// Store is what the janitor needs of the store.
type Store interface {
	ClaimChore(ctx context.Context, chore, owner string, now time.Time, every time.Duration) (bool, error)
	DeleteExpiredFlows(ctx context.Context, now time.Time, limit int) (int, error)
	DeleteExpiredSessions(ctx context.Context, now time.Time, limit int) ([]store.SessionRef, error)
}

// Ended counts ended sessions (lifecycle.Recorder).
type Ended interface {
	Ended(provider string, reason lifecycle.Reason, n int)
}

// Options configure a Janitor. Store and Owner are required.
type Options struct {
	Store Store
	Owner string // this process, as in refresh leases
	// Every is the cluster-wide period (default DefaultEvery).
	Every time.Duration
	// Batch bounds the rows of one statement (default DefaultBatch).
	Batch int
	// MaxBatches bounds the statements per kind in one run; the rest
	// waits for the next run (default DefaultMaxBatches).
	MaxBatches int
	Ended      Ended
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	Now        func() time.Time
}

// Result is what one run did.
type Result struct {
	Ran      bool // false: another process ran the chore within the period
	Flows    int  // pending logins and login tokens deleted
	Sessions int
	Batches  int
	// Longest is the longest single delete statement (one transaction).
	Longest time.Duration
}

// Janitor deletes expired rows; see the package comment.
type Janitor struct {
	o       Options
	deleted *prometheus.CounterVec
}

// New checks o and registers the janitor's metric.
func New(o Options) (*Janitor, error) {
	if o.Store == nil || o.Owner == "" {
		return nil, errors.New("janitor: Store and Owner are required")
	}
	if o.Every <= 0 {
		o.Every = DefaultEvery
	}
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	if o.MaxBatches <= 0 {
		o.MaxBatches = DefaultMaxBatches
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	j := &Janitor{o: o, deleted: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sessionbridge_janitor_deleted_total",
		Help: "Expired rows deleted by the janitor, by kind (flows: pending logins and login tokens; sessions).",
	}, []string{"kind"})}
	for _, k := range []string{"flows", "sessions"} {
		j.deleted.WithLabelValues(k)
	}
	if o.Registerer != nil {
		if err := o.Registerer.Register(j.deleted); err != nil {
			return nil, err
		}
	}
	return j, nil
}

// Run calls RunOnce every period until ctx ends; errors are logged (the
// store may be down for a while) and the next period tries again.
func (j *Janitor) Run(ctx context.Context) {
	t := time.NewTicker(j.o.Every)
	defer t.Stop()
	for {
		if _, err := j.RunOnce(ctx); err != nil && ctx.Err() == nil {
			j.o.Logger.Warn("janitor run failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunOnce claims this period's run and, when it wins, deletes expired
// flows, login tokens and sessions in batches.
func (j *Janitor) RunOnce(ctx context.Context) (Result, error) {
	now := j.o.Now()
	ok, err := j.o.Store.ClaimChore(ctx, choreName, j.o.Owner, now, j.o.Every)
	if err != nil || !ok {
		return Result{}, err
	}
	res := Result{Ran: true}
	err = j.flows(ctx, now, &res)
	if err == nil {
		err = j.sessions(ctx, now, &res)
	}
	j.o.Logger.Debug("janitor run", "flows_deleted", res.Flows, "sessions_deleted", res.Sessions,
		"batches", res.Batches, "longest_batch", res.Longest, "took", j.o.Now().Sub(now), "err", err)
	return res, err
}

// timed runs one delete statement and keeps the longest duration.
func timed[T any](res *Result, fn func() (T, error)) (T, error) {
	start := time.Now()
	v, err := fn()
	res.Batches++
	res.Longest = max(res.Longest, time.Since(start))
	return v, err
}

func (j *Janitor) flows(ctx context.Context, now time.Time, res *Result) error {
	for range j.o.MaxBatches {
		n, err := timed(res, func() (int, error) { return j.o.Store.DeleteExpiredFlows(ctx, now, j.o.Batch) })
		res.Flows += n
		j.deleted.WithLabelValues("flows").Add(float64(n))
		if err != nil || n == 0 {
			return err
		}
	}
	return nil
}

func (j *Janitor) sessions(ctx context.Context, now time.Time, res *Result) error {
	for range j.o.MaxBatches {
		refs, err := timed(res, func() ([]store.SessionRef, error) {
			return j.o.Store.DeleteExpiredSessions(ctx, now, j.o.Batch)
		})
		res.Sessions += len(refs)
		j.deleted.WithLabelValues("sessions").Add(float64(len(refs)))
		j.countEnded(refs)
		if err != nil || len(refs) < j.o.Batch {
			return err
		}
	}
	return nil
}

// countEnded records the sessions' ends by provider.
func (j *Janitor) countEnded(refs []store.SessionRef) {
	if j.o.Ended == nil || len(refs) == 0 {
		return
	}
	by := map[string]int{}
	for _, r := range refs {
		by[r.Provider]++
	}
	for p, n := range by {
		j.o.Ended.Ended(p, lifecycle.Expired, n)
	}
}
