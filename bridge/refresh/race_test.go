package refresh

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/providers"
)

// TestRotationUnderOnDemandRace is the acceptance test. A provider
// that rotates refresh tokens and answers a replayed one with invalid_grant
// (counting it) serves 500 sessions with one-minute tokens through three
// refresh cycles. The background loop of one process refreshes them while
// on-demand refreshes (what PATCH /v1/account/sessions/{id} calls) race it,
// from the same process and from a second one sharing the store (serve with
// refresh disabled next to a refresh daemon), aimed mostly at grants that
// are due at that very moment. Expected: no replay, no token used twice, no
// token expired before its refresh, and every stored refresh token is the
// provider's newest for that session (the fake checks each request's
// Subject against the session's ProviderUID, too).
//
// Time is a fake clock that moves in 5s steps: between steps, everything
// started in the step finishes, as it would in real time with requests far
// shorter than the lease. During a step the clock creeps forward in 20ms
// ticks, so that callers waiting for another process's lease poll on.
func TestRotationUnderOnDemandRace(t *testing.T) {
	for _, kind := range append(storeKinds, "postgres") { // postgres: skipped when unreachable
		t.Run(kind, func(t *testing.T) { rotationUnderOnDemandRace(t, kind) })
	}
}

func rotationUnderOnDemandRace(t *testing.T, kind string) {
	const (
		sessions = 500
		cycles   = 3
		step     = 5 * time.Second
		racers   = 24 // on-demand refreshes per step
	)
	opts := func(o *Options) { o.Jitter = uniformJitter }
	h := newHarness(t, hopt{kind: kind, mod: opts})
	h.prov.ttl = time.Minute
	serve := h.newRefresher(opts) // a second process: on-demand refreshes only
	var waited atomic.Int64
	for _, r := range []*Refresher{h.r, serve} {
		r.testWaiting = func(string) { waited.Add(1) }
	}
	ids := make([]string, sessions)
	for i := range ids {
		ids[i] = fmt.Sprintf("r%03d", i)
		issued := t0.Add(-time.Duration(i) * 100 * time.Millisecond) // logins spread over 50s
		expiry := issued.Add(h.prov.ttl)
		h.addGrant(ids[i], expiry, h.r.Schedule(issued, expiry, true))
	}
	stop := h.run(h.r)
	defer stop()
	h.quiet(h.r)

	rng := rand.New(rand.NewPCG(1, uint64(len(kind))))
	var onDemand, busy atomic.Int64
	end := t0.Add(cycles * h.prov.ttl / 2)
	for h.clk.Now().Before(end) {
		next := h.clk.Now().Add(step)
		var due []string
		list, err := h.st.ListSessions(context.Background(), h.userID)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range list {
			if !s.RefreshAt.After(next) {
				due = append(due, s.ID)
			}
		}
		h.clk.Set(next) // the loop wakes for what is due
		var wg sync.WaitGroup
		for i := range racers {
			id := ids[rng.IntN(sessions)]
			if len(due) > 0 && i%4 != 0 {
				id = due[rng.IntN(len(due))] // race the loop for a due grant
			}
			r := h.r
			if i%2 == 1 {
				r = serve
			}
			wg.Go(func() {
				_, err := r.RefreshNow(context.Background(), id)
				switch {
				case err == nil:
					onDemand.Add(1)
				case errors.Is(err, ErrBusy):
					busy.Add(1)
				default:
					t.Errorf("RefreshNow(%s): %v", id, err)
				}
			})
		}
		creep(h.clk, &wg)
		h.quiet(h.r)
	}

	calls, replays := h.prov.stats()
	if replays != 0 || len(h.prov.reused()) != 0 {
		t.Fatalf("%d requests, %d replays, tokens sent twice: %v", calls, replays, h.prov.reused())
	}
	for _, r := range []*Refresher{h.r, serve} {
		if n := testutil.ToFloat64(r.metrics.expired.WithLabelValues("fake")); n != 0 {
			t.Fatalf("expired_before_refresh = %v", n)
		}
	}
	if ended := h.endedCount(); ended != 0 {
		t.Fatalf("%v sessions ended", ended)
	}
	h.prov.mu.Lock()
	live := len(h.prov.valid)
	h.prov.mu.Unlock()
	if live != sessions {
		t.Fatalf("the provider holds %d live refresh tokens, want one per session (%d)", live, sessions)
	}
	for _, id := range ids {
		s := h.get(id)
		rt := h.open(s, "refresh")
		h.prov.mu.Lock()
		sub, ok := h.prov.valid[rt]
		h.prov.mu.Unlock()
		if !ok || sub != "sub-"+id {
			t.Fatalf("%s stores a refresh token that is not its newest", id)
		}
		if s.LeaseOwner != "" {
			t.Fatalf("%s left leased by %s", id, s.LeaseOwner)
		}
		if !s.AccessTokenExpiry.After(h.clk.Now()) {
			t.Fatalf("%s holds an expired access token", id)
		}
	}
	if calls < sessions*cycles || onDemand.Load() == 0 || waited.Load() == 0 {
		t.Fatalf("too little exercised: %d requests, %d on demand, %d waits for another refresh",
			calls, onDemand.Load(), waited.Load())
	}
	t.Logf("%d token requests, %d on-demand refreshes (%d waited for a concurrent refresh, %d busy)",
		calls, onDemand.Load(), waited.Load(), busy.Load())
}

// creep moves clk forward in 20ms ticks until wg is done, so that fake
// timers of callers polling for a lease fire; 20ms per tick is far below
// any lease, as the requests of a step take no fake time otherwise.
func creep(clk *fakeClock, wg *sync.WaitGroup) {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	creepUntil(clk, done, 20*time.Millisecond)
}

// Concurrency bounds the background token requests in flight, although
// the loop claims grants ahead of free slots.
func TestConcurrencyBoundsRequests(t *testing.T) {
	h := newHarness(t, hopt{kind: "mem", real: true, mod: func(o *Options) {
		o.Limits.Concurrency = 2
		o.Limits.ProviderConcurrency = 10 // only the global bound applies
	}})
	for i := range 10 {
		h.addGrant(fmt.Sprintf("c%d", i), time.Now().Add(time.Hour), time.Now())
	}
	entered, release := h.prov.hold()
	stop := h.run(h.r)
	defer stop()
	recv(t, entered, "the first request")
	recv(t, entered, "the second request")
	eventually(t, "the loop to claim ahead", func() bool { return h.r.capacity.claimed.Load() == 2+h.r.capacity.prefetch.Load() })
	release()
	eventually(t, "every grant to be refreshed", func() bool { return h.attempts(resultSuccess) == 10 })
	if n := h.prov.peakActive(); n != 2 {
		t.Fatalf("%d requests in flight at once, want Concurrency = 2", n)
	}
}

// A write that fails for a reason other than a conflict is repeated: the
// rotated refresh token must not be lost to a database hiccup.
func TestWriteRetriedAfterStoreError(t *testing.T) {
	h := newHarness(t, hopt{kind: "sqlite"})
	h.addGrant("s1", t0.Add(time.Minute), t0)
	fs := &flakyStore{Store: h.st, fails: 2}
	h.r.store = fs
	done := make(chan struct{})
	go func() {
		h.tick()
		close(done)
	}()
	creepUntil(h.clk, done, 50*time.Millisecond) // the retry pauses
	if c, r := h.prov.stats(); c != 1 || r != 0 {
		t.Fatalf("requests = %d, replays = %d; want 1, 0", c, r)
	}
	if fs.calls.Load() != 3 {
		t.Fatalf("writes = %d, want 3 (two failed)", fs.calls.Load())
	}
	s := h.get("s1")
	h.prov.mu.Lock()
	_, live := h.prov.valid[h.open(s, "refresh")]
	h.prov.mu.Unlock()
	if !live || s.LeaseOwner != "" || h.attempts(resultSuccess) != 1 {
		t.Fatalf("after retried write: live=%v lease=%q successes=%v", live, s.LeaseOwner, h.attempts(resultSuccess))
	}
}

// flakyStore fails the first `fails` compare-and-swaps, as an unreachable
// database would.
type flakyStore struct {
	store.Store
	fails int64
	calls atomic.Int64
	down  atomic.Bool // every compare-and-swap fails while set
}

func (f *flakyStore) CompareAndSwapSession(ctx context.Context, s *store.Session) error {
	if f.calls.Add(1) <= f.fails || f.down.Load() {
		return errors.New("database is unreachable")
	}
	return f.Store.CompareAndSwapSession(ctx, s)
}

// The write of a rotated token outlasts its lease (the store is down), and
// this process's own loop claims the grant again meanwhile. When the store
// is back the write still lands: the rotated token is stored, not dropped
// for the next claim to replay the superseded one.
func TestWriteOutlastingItsLeaseSurvivesOwnReclaim(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			h := newHarness(t, hopt{kind: kind})
			h.addGrant("s1", t0.Add(time.Minute), t0)
			fs := &flakyStore{Store: h.st}
			fs.down.Store(true)
			h.r.store = fs
			h.r.tick(context.Background(), nil, false) // the worker refreshes, then cannot write
			eventually(t, "the write to fail", func() bool { return fs.calls.Load() > 0 })

			h.clk.Advance(h.r.lease + time.Second) // the lease runs out under the worker
			h.r.tick(context.Background(), nil, false)
			if s := h.get("s1"); s.LeaseUntil.Before(h.clk.Now()) {
				t.Fatalf("the loop did not claim the grant again: %+v", s)
			}
			fs.down.Store(false)
			done := make(chan struct{})
			go func() { h.r.wg.Wait(); close(done) }()
			creepUntil(h.clk, done, 50*time.Millisecond)

			s := h.get("s1")
			h.prov.mu.Lock()
			_, live := h.prov.valid[h.open(s, "refresh")]
			h.prov.mu.Unlock()
			if calls, replays := h.prov.stats(); !live || calls != 1 || replays != 0 || s.LeaseOwner != "" {
				t.Fatalf("live=%v calls=%d replays=%d lease=%q", live, calls, replays, s.LeaseOwner)
			}
		})
	}
}

// creepUntil moves clk forward by step every real millisecond until done
// closes, so that fake-timer pauses (retries, lease polls) elapse.
func creepUntil(clk *fakeClock, done <-chan struct{}, step time.Duration) {
	for {
		select {
		case <-done:
			return
		case <-time.After(time.Millisecond):
			clk.Advance(step)
		}
	}
}

// The write of a rotated refresh token keeps being retried past the
// context it was started with (the lease), while the store is down.
func TestRotatedTokenWriteOutlivesItsContext(t *testing.T) {
	h := newHarness(t, hopt{})
	h.addGrant("s1", t0.Add(time.Minute), t0)
	claimed, err := h.st.ClaimGrant(context.Background(), "s1", h.r.owner, t0, h.r.lease)
	if err != nil {
		t.Fatal(err)
	}
	fs := &flakyStore{Store: h.st}
	fs.down.Store(true)
	h.r.store = fs
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	go func() {
		time.Sleep(200 * time.Millisecond) // well past ctx
		fs.down.Store(false)
	}()
	done := make(chan outcome, 1)
	go func() {
		done <- h.r.succeeded(ctx, claimed, "fake", h.open(claimed, "refresh"),
			&providers.Token{AccessToken: "new-at", RefreshToken: "new-rt", Expiry: t0.Add(time.Hour)})
	}()
	var out outcome
	finished := make(chan struct{})
	go func() {
		out = <-done
		close(finished)
	}()
	creepUntil(h.clk, finished, 50*time.Millisecond)
	if out.err != nil {
		t.Fatalf("succeeded: %v", out.err)
	}
	if s := h.get("s1"); h.open(s, "refresh") != "new-rt" || s.LeaseOwner != "" {
		t.Fatalf("stored refresh token %q, lease %q", h.open(s, "refresh"), s.LeaseOwner)
	}
}
