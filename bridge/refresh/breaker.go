package refresh

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// providerState is what the refresher keeps per provider: its in-flight
// slots, its request rate limiter, its circuit breaker and its parking.
type providerState struct {
	slots   chan struct{}
	limiter *rate.Limiter // nil: unlimited
	circuit circuit
	parking parking
	// minInterval is the provider's minimum time between refreshes of a
	// grant (0: none).
	minInterval time.Duration
}

func (r *Refresher) providerState(key string) *providerState {
	r.mu.Lock()
	defer r.mu.Unlock()
	ps := r.providerStates[key]
	if ps == nil {
		limit := r.providerLimit(key)
		ps = &providerState{slots: make(chan struct{}, limit.Concurrency), minInterval: limit.MinInterval}
		if limit.Rate > 0 {
			ps.limiter = rate.NewLimiter(rate.Limit(limit.Rate), limit.Burst)
		}
		ps.circuit = circuit{threshold: r.breaker.Threshold, base: r.breaker.Cooldown, cooldown: r.breaker.Cooldown, probeWait: r.timeout}
		r.providerStates[key] = ps
	}
	return ps
}

// ProviderLimit bounds one provider's token requests from this process.
type ProviderLimit struct {
	Concurrency int     // in flight at once
	Rate        float64 // per second; 0: unlimited
	Burst       int     // bucket size for Rate
	// MinInterval is the least time between two refreshes of one grant
	// (Apple asks for at most one a day); 0: none. Access tokens may
	// lapse meanwhile.
	MinInterval time.Duration
}

// providerLimit is the general limit with the provider's overrides applied.
func (r *Refresher) providerLimit(key string) ProviderLimit {
	l := ProviderLimit{Concurrency: r.limits.ProviderConcurrency, Rate: r.limits.ProviderRate, Burst: r.limits.ProviderBurst}
	if o, ok := r.limits.PerProvider[key]; ok {
		if o.Concurrency > 0 {
			l.Concurrency = o.Concurrency
		}
		if o.Rate > 0 {
			l.Rate = o.Rate
		}
		if o.Burst > 0 {
			l.Burst = o.Burst
		}
		l.MinInterval = o.MinInterval
	}
	if l.Burst <= 0 {
		l.Burst = 1
	}
	return l
}

const (
	closed = iota
	open
	halfOpen
)

// circuit is a per-provider circuit breaker. After threshold consecutive
// transient failures it opens for a cooldown during which no request is
// sent (a struggling provider is not hammered by every due grant); then it
// lets a single probe through (half-open). A probe that fails reopens it
// with the cooldown doubled, up to MaxBreakerCooldown; any answer from the
// provider closes it, a permanent error included, since that proves the
// provider is up.
type circuit struct {
	mu        sync.Mutex
	threshold int
	base      time.Duration
	probeWait time.Duration // how far grants are pushed while a probe is out

	state    int
	failures int
	until    time.Time
	cooldown time.Duration
	probing  bool
}

// allow reports whether a request may be sent now; if not, it returns
// when to try again. In the half-open state the first caller becomes the
// probe and must report its outcome (success/failure): allow is therefore
// the last step of admission, after which the request is always sent.
func (b *circuit) allow(now time.Time) (bool, time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case open:
		if now.Before(b.until) {
			return false, b.until
		}
		b.state = halfOpen
		b.probing = true
		return true, time.Time{}
	case halfOpen:
		if b.probing {
			return false, now.Add(b.probeWait)
		}
		b.probing = true
		return true, time.Time{}
	}
	return true, time.Time{}
}

// openUntil reports, without taking the probe, whether the circuit is
// open at now and until when.
func (b *circuit) openUntil(now time.Time) (time.Time, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == open && now.Before(b.until) {
		return b.until, true
	}
	return time.Time{}, false
}

// success records an answer from the provider; it returns true when the
// circuit was not closed before.
func (b *circuit) success() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	wasOpen := b.state != closed
	b.state, b.failures, b.cooldown, b.probing = closed, 0, b.base, false
	return wasOpen
}

// failure records a transient failure; it returns true when this opened
// the circuit.
func (b *circuit) failure(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case halfOpen:
		b.cooldown = min(2*b.cooldown, MaxBreakerCooldown)
		b.state, b.until, b.probing = open, now.Add(b.cooldown), false
		return true
	case closed:
		b.failures++
		if b.failures >= b.threshold {
			b.state, b.until = open, now.Add(b.cooldown)
			return true
		}
	}
	return false
}

// isOpen reports whether the circuit is open or half-open (the gauge).
func (b *circuit) isOpen() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state != closed
}
