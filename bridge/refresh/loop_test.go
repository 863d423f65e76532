package refresh

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/bridge/store/memstore"
)

// The loop sleeps until the grant is due (no coarse polling) and refreshes
// every token before it expires, round after round.
func TestRunRefreshesBeforeExpiry(t *testing.T) {
	forKinds(t, func(t *testing.T, kind string) {
		h := newHarness(t, hopt{kind: kind})
		expiry := t0.Add(time.Hour)
		h.addGrant("s1", expiry, h.r.Schedule(t0, expiry, true))
		stop := h.run(h.r)
		defer stop()
		for round := 1; round <= 3; round++ {
			for step := 0; h.prov.callCount() < round; step++ {
				if step > 10 {
					t.Fatalf("round %d: no refresh after %d wakes", round, step)
				}
				h.clk.Set(h.quiet(h.r))
				h.quiet(h.r)
			}
			at := h.prov.callTime(round - 1)
			// Due at expiry - 5m, minus at most 30s of jitter.
			if at.Before(expiry.Add(-5*time.Minute-30*time.Second)) || at.After(expiry.Add(-5*time.Minute)) {
				t.Fatalf("round %d: refreshed %v before expiry, want 5m (minus jitter)", round, expiry.Sub(at))
			}
			s := h.get("s1")
			if s.LeaseOwner != "" {
				t.Fatalf("round %d: lease left", round)
			}
			expiry = s.AccessTokenExpiry
		}
		if _, replays := h.prov.stats(); replays != 0 {
			t.Fatalf("replays = %d", replays)
		}
	})
}

func TestNotifyWakesLoopEarlier(t *testing.T) {
	h := newHarness(t, hopt{})
	stop := h.run(h.r)
	defer stop()
	if at := h.quiet(h.r); !at.Equal(t0.Add(24 * time.Hour)) {
		t.Fatalf("idle loop wakes at %v, want after PollInterval", at.Sub(t0))
	}
	due := t0.Add(10 * time.Second)
	h.addGrant("s1", t0.Add(time.Minute), due)
	h.r.Notify(due)
	eventually(t, "the loop to re-arm for the notified time", func() bool {
		h.r.mu.Lock()
		defer h.r.mu.Unlock()
		return h.r.wake.planned.Equal(due)
	})
	h.clk.Set(due)
	eventually(t, "the refresh", func() bool { return h.prov.callCount() == 1 })
	// A later Notify does not disturb an earlier wake.
	h.quiet(h.r)
	h.r.Notify(t0.Add(100 * time.Hour))
	if len(h.r.wake.notify) != 0 {
		t.Fatal("a later Notify woke the loop")
	}
}

// Grants created by another process, which cannot Notify us, are found
// within PollInterval.
func TestPollFindsForeignGrants(t *testing.T) {
	h := newHarness(t, hopt{mod: func(o *Options) { o.PollInterval = 5 * time.Second }})
	stop := h.run(h.r)
	defer stop()
	if at := h.quiet(h.r); !at.Equal(t0.Add(5 * time.Second)) {
		t.Fatalf("wakes at %v", at.Sub(t0))
	}
	h.addGrant("s1", t0.Add(time.Minute), t0.Add(time.Second))
	h.clk.Set(t0.Add(5 * time.Second))
	eventually(t, "the refresh", func() bool { return h.prov.callCount() == 1 })
}

func TestRefreshNowSingleFlight(t *testing.T) {
	forKinds(t, func(t *testing.T, kind string) {
		h := newHarness(t, hopt{kind: kind})
		h.addGrant("s1", t0.Add(time.Hour), t0.Add(55*time.Minute))
		entered, release := h.prov.hold()
		const callers = 20
		var wg sync.WaitGroup
		results := make([]store.Session, callers)
		errs := make([]error, callers)
		for i := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], errs[i] = h.r.RefreshNow(context.Background(), "s1")
			}()
		}
		recv(t, entered, "the provider request")
		eventually(t, "all callers to join the flight", func() bool { return h.r.flightWaiters("s1") == callers })
		release()
		wg.Wait()
		if c := h.prov.callCount(); c != 1 {
			t.Fatalf("provider requests = %d, want 1", c)
		}
		want := h.open(h.get("s1"), "access")
		for i := range callers {
			if errs[i] != nil {
				t.Fatalf("caller %d: %v", i, errs[i])
			}
			if got := h.open(results[i], "access"); got != want {
				t.Fatalf("caller %d got access token %q, want the stored %q", i, got, want)
			}
		}
		if s := h.get("s1"); s.LeaseOwner != "" || s.RefreshAt.IsZero() {
			t.Fatalf("after RefreshNow: %+v", s)
		}
	})
}

func TestRefreshNowWhileLoopRefreshes(t *testing.T) {
	h := newHarness(t, hopt{})
	h.addGrant("s1", t0.Add(time.Minute), t0)
	waiting := waitsOf(h.r)
	entered, release := h.prov.hold()
	h.r.tick(context.Background(), nil, false) // dispatches s1
	recv(t, entered, "the provider request")
	done := goRefreshNow(context.Background(), h.r, "s1")
	recv(t, waiting, "RefreshNow to wait") // RefreshNow waits for the loop's refresh instead of sending its own
	release()
	got := recv(t, done, "RefreshNow")
	if got.err != nil {
		t.Fatal(got.err)
	}
	h.r.wg.Wait()
	if c := h.prov.callCount(); c != 1 {
		t.Fatalf("requests = %d, want 1", c)
	}
	if h.open(got.s, "access") == "initial-at-s1" {
		t.Fatal("RefreshNow returned the stale row")
	}
}

func TestLoopWhileRefreshNowRefreshes(t *testing.T) {
	forKinds(t, func(t *testing.T, kind string) {
		h := newHarness(t, hopt{kind: kind})
		h.addGrant("s1", t0.Add(time.Minute), t0) // due now
		entered, release := h.prov.hold()
		done := goRefreshNow(context.Background(), h.r, "s1")
		recv(t, entered, "the provider request")
		h.tick() // the grant is leased by RefreshNow: nothing to claim
		release()
		if got := recv(t, done, "RefreshNow"); got.err != nil {
			t.Fatal(got.err)
		}
		h.tick()
		if c := h.prov.callCount(); c != 1 {
			t.Fatalf("requests = %d, want 1", c)
		}
	})
}

// Another process holds the lease: RefreshNow waits for its result.
func TestRefreshNowAcrossProcesses(t *testing.T) {
	forKinds(t, func(t *testing.T, kind string) {
		h := newHarness(t, hopt{kind: kind, real: true})
		other := h.newRefresher(nil)
		h.addGrant("s1", time.Now().Add(time.Hour), time.Now().Add(55*time.Minute))
		waiting := waitsOf(h.r)
		entered, release := h.prov.hold()
		otherDone := goRefreshNow(context.Background(), other, "s1")
		recv(t, entered, "the provider request")
		done := goRefreshNow(context.Background(), h.r, "s1")
		recv(t, waiting, "RefreshNow to wait")
		release()
		first, got := recv(t, otherDone, "RefreshNow"), recv(t, done, "RefreshNow")
		if err := errors.Join(first.err, got.err); err != nil {
			t.Fatal(err)
		}
		if c := h.prov.callCount(); c != 1 {
			t.Fatalf("requests = %d, want 1", c)
		}
		if h.open(got.s, "access") != h.open(h.get("s1"), "access") {
			t.Fatal("the waiting caller did not get the other process's result")
		}
	})
}

func TestRefreshNowOutcomes(t *testing.T) {
	h := newHarness(t, hopt{})
	ctx := context.Background()
	if _, err := h.r.RefreshNow(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown session: %v", err)
	}
	// No refresh token: returned unchanged, no request.
	s := &store.Session{ID: "plain", UserID: h.userID, Expire: t0.Add(time.Hour), Provider: "fake"}
	if err := h.st.CreateSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	if got, err := h.r.RefreshNow(ctx, "plain"); err != nil || got.ID != "plain" || h.prov.callCount() != 0 {
		t.Fatalf("no refresh token: %v %v calls=%d", got.ID, err, h.prov.callCount())
	}
	// invalid_grant ends the session; callers see it as not found.
	h.addGrant("s1", t0.Add(time.Hour), t0.Add(55*time.Minute))
	h.prov.setFail(failAlways(oauthErr("invalid_grant", 400)))
	_, err := h.r.RefreshNow(ctx, "s1")
	if !errors.Is(err, ErrSessionEnded) || !errors.Is(err, store.ErrNotFound) || !h.gone("s1") {
		t.Fatalf("invalid_grant: %v", err)
	}
	// A transient error keeps the session and its schedule.
	h.addGrant("s2", t0.Add(time.Hour), t0.Add(55*time.Minute))
	h.prov.setFail(failAlways(oauthErr("", 503)))
	got, err := h.r.RefreshNow(ctx, "s2")
	if err == nil || got.ID != "s2" || got.RefreshFailures != 1 || got.LeaseOwner != "" {
		t.Fatalf("transient: %v %+v", err, got)
	}
	// The caller's context bounds only its own wait.
	h.addGrant("s3", t0.Add(time.Hour), t0.Add(55*time.Minute))
	h.prov.setFail(nil)
	entered, release := h.prov.hold()
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { _, err := h.r.RefreshNow(cctx, "s3"); done <- err }()
	recv(t, entered, "the provider request")
	cancel()
	if err := recv(t, done, "RefreshNow"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: %v", err)
	}
	release()
	eventually(t, "the detached refresh to be stored", func() bool {
		s := h.get("s3")
		return s.LeaseOwner == "" && h.open(s, "access") != "initial-at-s3"
	})
}

// Two refreshers on one store, many grants, several rounds each: every
// refresh token is sent exactly once.
func TestTwoProcessesRefreshEachTokenOnce(t *testing.T) {
	forKinds(t, func(t *testing.T, kind string) {
		const grants, rounds = 200, 3
		opts := func(o *Options) {
			o.BeforeExpiry = time.Second
			o.Timeout = 2 * time.Second
			o.PollInterval = 200 * time.Millisecond
			o.Jitter = uniformJitter
		}
		h := newHarness(t, hopt{kind: kind, real: true, mod: opts})
		h.prov.ttl = 1500 * time.Millisecond
		other := h.newRefresher(opts)
		now := time.Now()
		for i := range grants {
			h.addGrant(fmt.Sprintf("g%03d", i), now.Add(h.prov.ttl), now)
		}
		stop1, stop2 := h.run(h.r), h.run(other)
		eventually(t, "every grant to be refreshed several times", func() bool {
			calls, replays := h.prov.stats()
			return calls >= grants*rounds || replays > 0
		})
		stop1()
		stop2()
		calls, replays := h.prov.stats()
		if replays != 0 || len(h.prov.reused()) != 0 {
			t.Fatalf("%d requests, %d replays, reused tokens: %v", calls, replays, h.prov.reused())
		}
		for i := range grants {
			s := h.get(fmt.Sprintf("g%03d", i))
			if _, live := h.prov.valid[h.open(s, "refresh")]; !live {
				t.Fatalf("%s does not hold its live refresh token", s.ID)
			}
			if s.LeaseOwner != "" {
				t.Fatalf("%s left leased by %s", s.ID, s.LeaseOwner)
			}
		}
		t.Logf("%d requests: %v by one process, %v by the other", calls,
			h.attempts(resultSuccess), testutil.ToFloat64(other.metrics.attempts.WithLabelValues("fake", resultSuccess)))
	})
}

func TestShutdownReleasesUnstartedWork(t *testing.T) {
	forKinds(t, func(t *testing.T, kind string) {
		h := newHarness(t, hopt{kind: kind, mod: func(o *Options) {
			o.Limits.ProviderConcurrency = 1
			o.Timeout = 300 * time.Millisecond // bounds the in-flight request at shutdown
		}})
		for i := range 5 {
			h.addGrant(fmt.Sprintf("s%d", i), t0.Add(time.Hour), t0)
		}
		entered, release := h.prov.hold()
		defer release()
		stop := h.run(h.r)
		recv(t, entered, "the provider request")
		if err := h.r.Run(context.Background()); err == nil {
			t.Fatal("a second Run while the first runs returned nil")
		}
		stop() // the held request times out; the four waiting grants are given back
		if c := h.prov.callCount(); c != 1 {
			t.Fatalf("requests = %d, want 1", c)
		}
		given := 0
		for i := range 5 {
			s := h.get(fmt.Sprintf("s%d", i))
			if s.LeaseOwner != "" {
				t.Fatalf("%s left leased", s.ID)
			}
			if s.RefreshFailures == 0 && s.RefreshAt.Equal(t0) {
				given++
			}
		}
		if given != 4 {
			t.Fatalf("%d grants given back due now, want 4", given)
		}
	})
}

func TestNewValidates(t *testing.T) {
	keys := testKeys(t)
	for name, o := range map[string]Options{
		"no store":          {Keys: keys},
		"no keys":           {Store: memstore.New()},
		"bad on_failure":    {Store: memstore.New(), Keys: keys, OnFailure: "retry"},
		"negative timeout":  {Store: memstore.New(), Keys: keys, Timeout: -time.Second},
		"negative interval": {Store: memstore.New(), Keys: keys, PollInterval: -time.Second},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	r, err := New(Options{Store: memstore.New(), Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	if r.lease != 70*time.Second || r.limits.Concurrency != 64 || r.limits.ProviderConcurrency != 64 || r.beforeExpiry != 5*time.Minute || r.keepSession || r.owner == "" {
		t.Fatalf("defaults: lease=%v concurrency=%d/%d before_expiry=%v keep_session=%v owner=%q", r.lease, r.limits.Concurrency, r.limits.ProviderConcurrency, r.beforeExpiry, r.keepSession, r.owner)
	}
}
