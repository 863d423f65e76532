package refresh

import (
	"context"
	"fmt"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/seal"
	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/providers"
)

// refusal is why the admission step sends no request for a claimed grant.
type refusal int

const (
	admitted refusal = iota // the request may go out

	// The grant itself cannot be refreshed.
	sessionOver     // the session has expired: nothing is left to keep fresh
	noRefreshToken  // the grant has no refresh token
	providerUnknown // its provider is not configured (any more)
	tokenUnreadable // no configured token key opens its refresh token

	// The grant can be refreshed, but not now.
	intervalNotPassed // the provider's minimum interval since the last refresh
	circuitOpen       // the provider's circuit breaker is open, or its probe is out
	providerParked    // the provider refused the bridge's client; only probes go out
	rateLimited       // the provider's rate limit leaves no room within the lease
	busy              // no slot in time, shutting down, or the lease ran short
)

var refusalNames = [...]string{
	admitted: "admitted", sessionOver: "session_over", noRefreshToken: "no_refresh_token",
	providerUnknown: "provider_unknown", tokenUnreadable: "token_unreadable",
	intervalNotPassed: "interval_not_passed", circuitOpen: "circuit_open", providerParked: "provider_parked",
	rateLimited: "rate_limited", busy: "busy",
}

func (f refusal) String() string { return refusalNames[f] }

// verdict is the admission step's answer: why not (admitted: go ahead),
// when to look at the grant again (zero: never), and the error the
// caller of RefreshNow learns (nil: nothing went wrong).
type verdict struct {
	refusal refusal
	retryAt time.Time
	err     error
}

// grant is a claimed grant on its way through admission.
type grant struct {
	s     store.Session
	p     providers.Provider
	label string // metric and log label of the provider
	rt    string // the opened refresh token
	ps    *providerState
	probe bool // this request probes a parked provider
	// release gives the slots back once admitted (see acquire).
	release func()
}

// refreshGrant processes one claimed grant: the admission step, then at
// most one token request and one conditional write of its result.
func (r *Refresher) refreshGrant(ctx context.Context, j job) outcome {
	g, v := r.admit(j)
	if v.refusal != admitted {
		return r.refuse(ctx, j, g.label, v)
	}
	return r.send(ctx, g)
}

// admit runs every check a claimed grant passes before its one token
// request, cheapest first: the grant itself (checkGrant), its provider's
// minimum interval, circuit and parking (checkProvider), then the slots,
// the rate limiter, the lease budget and the breaker's probe (acquire).
// An admitted grant holds its slots until g.release.
func (r *Refresher) admit(j job) (grant, verdict) {
	g, v := r.checkGrant(j)
	if v.refusal != admitted {
		return g, v
	}
	if v = r.checkProvider(&g); v.refusal != admitted {
		return g, v
	}
	if v = r.acquire(j, &g); v.refusal != admitted && g.probe {
		g.ps.parking.endProbe() // the probe was not sent: the next grant may be it
	}
	return g, v
}

// refuse gives back a grant the admission step refused, counted once as
// skipped. A grant that cannot be refreshed is rescheduled on its own
// terms; one refused for now goes back to be retried at v.retryAt (an
// on-demand claim: to where it was).
func (r *Refresher) refuse(ctx context.Context, j job, label string, v verdict) outcome {
	r.metrics.result(label, resultSkipped)
	r.log.Debug("refresher: grant given back unsent", "session", j.s.ID, "provider", label, "reason", v.refusal)
	switch v.refusal {
	case sessionOver, noRefreshToken:
		return r.reschedule(ctx, j.s, time.Time{}, false, nil)
	case providerUnknown, tokenUnreadable:
		return r.reschedule(ctx, j.s, v.retryAt, true, v.err)
	}
	return r.giveBack(ctx, j, v.retryAt, v.err)
}

// checkGrant looks at the grant alone: the session still lasts, its
// provider is configured, its refresh token opens.
func (r *Refresher) checkGrant(j job) (grant, verdict) {
	s, now := j.s, r.now()
	p, err := r.providers.Get(s.Provider)
	g := grant{s: s, p: p, label: s.Provider}
	if err != nil {
		g.label = unknownProvider
	}
	if !s.Expire.IsZero() && !now.Before(s.Expire) {
		return g, verdict{refusal: sessionOver}
	}
	if err != nil {
		// The provider was removed from the configuration; keep the grant
		// (it may come back) but look at it rarely.
		r.log.Warn("refresher: grant of an unconfigured provider", "session", s.ID, "provider", s.Provider)
		return g, verdict{providerUnknown, r.afterConfigFix(now), fmt.Errorf("%w: %w", ErrNotConfigured, err)}
	}
	if g.rt, err = r.keys.Open(s.RefreshTokenSealed, seal.AAD(s.ID, "refresh")); err != nil {
		r.log.Error("refresher: refresh token cannot be opened with the configured token keys", "session", s.ID, "provider", g.label)
		return g, verdict{tokenUnreadable, r.afterConfigFix(now), fmt.Errorf("%w: %w", ErrNotConfigured, err)}
	}
	if g.rt == "" {
		return g, verdict{refusal: noRefreshToken}
	}
	g.ps = r.providerState(g.label)
	return g, verdict{}
}

// checkProvider asks the provider's state, without taking a slot: its
// minimum interval has passed, its circuit is not open, and it is not
// parked (or this grant becomes its probe, g.probe).
func (r *Refresher) checkProvider(g *grant) verdict {
	now := r.now()
	if until, held := intervalHolds(g.s, g.ps.minInterval, now); held {
		// An on-demand refresh does not get here: RefreshNow answers
		// with the current token first.
		return verdict{refusal: intervalNotPassed, retryAt: until}
	}
	if until, open := g.ps.circuit.openUntil(now); open {
		return verdict{circuitOpen, until.Add(r.jitter(r.breaker.Cooldown/10 + time.Second)), ErrCircuitOpen}
	}
	ok, next, probe := g.ps.parking.admit(now)
	if !ok {
		// Pushed past the next probe time, so that parked grants are
		// not all rewritten every probe period.
		at := maxTime(next, now.Add(parkedRecheck)).Add(r.jitter(parkedRecheck / 2))
		return verdict{providerParked, at, ErrProviderParked}
	}
	g.probe = probe
	return verdict{}
}

// acquire takes the slots, then checks the rest just before sending
// (readyToSend). Background requests need one of the process's
// Concurrency slots and a slot of the provider; on-demand ones (a caller
// is waiting) only the provider's. Both are given back by g.release as
// soon as the response is in, before the write: they bound requests in
// flight.
func (r *Refresher) acquire(j job, g *grant) verdict {
	ps := g.ps
	if !j.onDemand && r.wait(r.capacity.slots, r.sendBudget(g.s, r.now()), j.stop) != acquired {
		return r.busyNow()
	}
	if r.wait(ps.slots, r.sendBudget(g.s, r.now()), j.stop) != acquired {
		if !j.onDemand {
			<-r.capacity.slots
		}
		return r.busyNow()
	}
	g.release = func() {
		<-ps.slots
		if !j.onDemand {
			<-r.capacity.slots
		}
		if j.released != nil {
			j.released()
		}
	}
	v := r.readyToSend(j, *g)
	if v.refusal != admitted {
		g.release()
	}
	return v
}

func (r *Refresher) busyNow() verdict { return verdict{busy, r.now(), ErrBusy} }

// readyToSend waits for the provider's rate limiter and checks, last, that
// the process is not stopping, that the lease still outlives the request
// and the write of its result (otherwise another process could claim the
// grant, and send the refresh token this request is about to rotate,
// before the rotated one is stored), and that the breaker lets it through.
func (r *Refresher) readyToSend(j job, g grant) verdict {
	if v := r.waitForRate(j, g); v.refusal != admitted {
		return v
	}
	select {
	case <-j.stop:
		return r.busyNow() // shutting down: unstarted work goes back
	default:
	}
	now := r.now()
	if r.sendBudget(g.s, now) < 0 {
		return r.busyNow()
	}
	// The breaker's half-open state lets one probe through, which must
	// report its outcome: allow is therefore the last step of admission,
	// after which the request is always sent.
	if ok, retryAt := g.ps.circuit.allow(now); !ok {
		return verdict{circuitOpen, retryAt.Add(r.jitter(time.Second)), ErrCircuitOpen}
	}
	return verdict{}
}

// waitForRate waits for the provider's rate limiter, unless the wait
// would outlast the grant's send budget.
func (r *Refresher) waitForRate(j job, g grant) verdict {
	limiter := g.ps.limiter
	if limiter == nil {
		return verdict{}
	}
	now := r.now()
	res := limiter.ReserveN(now, 1)
	delay := res.DelayFrom(now)
	if !res.OK() || delay > r.sendBudget(g.s, now) {
		res.CancelAt(now)
		return verdict{rateLimited, now.Add(delay), ErrRateLimited}
	}
	if delay > 0 && r.wait(nil, delay, j.stop) == stopped {
		res.CancelAt(r.now())
		return r.busyNow()
	}
	return verdict{}
}
