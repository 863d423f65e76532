package refresh

import (
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A grant refused by a step of admission before the breaker's (here the
// rate limiter) must not take the half-open circuit's one probe: the
// circuit would then wait for the outcome of a request never sent. The
// next grant that gets through is the probe, and its answer closes it.
func TestRefusedGrantLeavesTheProbe(t *testing.T) {
	h := newHarness(t, hopt{mod: func(o *Options) {
		o.Breaker = Breaker{Threshold: 1, Cooldown: 30 * time.Second}
		o.Limits.ProviderRate, o.Limits.ProviderBurst = 1.0/3600, 1 // one request an hour
	}})
	h.addGrant("a", t0.Add(time.Hour), t0)
	h.prov.setFail(failAlways(oauthErr("", 502)))
	h.tick() // the hour's request fails: the circuit opens
	ps := h.r.providerState("fake")
	if _, open := ps.circuit.openUntil(h.now()); !open {
		t.Fatal("the circuit did not open")
	}

	h.clk.Advance(31 * time.Second) // the cooldown is over: the next request probes
	h.addGrant("b", t0.Add(2*time.Hour), h.now())
	h.tick() // both grants are due, and both are rate limited
	if c := h.prov.callCount(); c != 1 {
		t.Fatalf("requests = %d, want 1 (the rate limit allows no second)", c)
	}
	if got := h.attempts(resultSkipped); got != 2 {
		t.Fatalf("skipped = %v, want 2", got)
	}
	ps.circuit.mu.Lock()
	state, probing := ps.circuit.state, ps.circuit.probing
	ps.circuit.mu.Unlock()
	if state == halfOpen || probing {
		t.Fatalf("a grant that sent nothing took the probe (state %d, probing %v)", state, probing)
	}

	h.clk.Advance(time.Hour) // the rate limit allows one request again
	h.prov.setFail(nil)
	h.tick()
	if c := h.prov.callCount(); c != 2 {
		t.Fatalf("requests = %d, want 2 (one probe)", c)
	}
	if ps.circuit.isOpen() || testutil.ToFloat64(h.r.metrics.circuit.WithLabelValues("fake")) != 0 {
		t.Fatal("the successful probe did not close the circuit")
	}
}

// Each refusal is counted once as skipped, and the grant goes back as its
// reason says: never again (nothing to refresh), counted as a failure
// (only the configuration can fix it) or for a retry at retryAt.
func TestRefuseReschedules(t *testing.T) {
	later := t0.Add(time.Hour)
	for _, tc := range []struct {
		v            verdict
		wantAt       time.Time
		wantFailures int
	}{
		{verdict{refusal: sessionOver}, time.Time{}, 0},
		{verdict{refusal: noRefreshToken}, time.Time{}, 0},
		{verdict{providerUnknown, later, ErrNotConfigured}, later, 1},
		{verdict{tokenUnreadable, later, ErrNotConfigured}, later, 1},
		{verdict{refusal: intervalNotPassed, retryAt: later}, later, 0},
		{verdict{circuitOpen, later, ErrCircuitOpen}, later, 0},
		{verdict{providerParked, later, ErrProviderParked}, later, 0},
		{verdict{rateLimited, later, ErrRateLimited}, later, 0},
		{verdict{busy, later, ErrBusy}, later, 0},
	} {
		t.Run(tc.v.refusal.String(), func(t *testing.T) {
			h := newHarness(t, hopt{})
			h.addGrant("s1", t0.Add(time.Hour), t0)
			rows, err := h.r.claim(t.Context(), h.now(), 1)
			if err != nil || len(rows) != 1 {
				t.Fatalf("claim: %v, %d rows", err, len(rows))
			}
			out := h.r.refuse(t.Context(), job{s: rows[0]}, "fake", tc.v)
			if !errors.Is(out.err, tc.v.err) || (tc.v.err == nil && out.err != nil) {
				t.Fatalf("err = %v, want %v", out.err, tc.v.err)
			}
			s := h.get("s1")
			if !s.RefreshAt.Equal(tc.wantAt) || s.RefreshFailures != tc.wantFailures || s.LeaseOwner != "" {
				t.Fatalf("refresh_at %v failures %d lease %q; want %v, %d, none", s.RefreshAt, s.RefreshFailures, s.LeaseOwner, tc.wantAt, tc.wantFailures)
			}
			if got := h.attempts(resultSkipped); got != 1 {
				t.Fatalf("skipped = %v, want 1", got)
			}
		})
	}
}
