// Package refresh keeps provider access tokens fresh in the background.
//
// A Refresher sleeps until the earliest due grant (Store.NextRefreshAt),
// claims due grants under a lease (Store.ClaimDueGrants) and sends exactly
// one refresh_token request per claim. The lease is keyed on the grant and
// outlives the token request (2*Timeout+10s), so that across every process
// sharing the store a refresh token is sent at most once: the claim bumps
// the row's version, and the rotated tokens are written with
// CompareAndSwapSession against that version before anyone can see the new
// access token. A process that crashes mid-refresh leaves a lease that runs
// out, after which the grant is due again.
//
// Clocks: a lease's end is computed with the claiming process's clock and
// compared, when another process claims, with that process's clock (the
// store is given `now`; neither backend substitutes the database's
// clock). Processes sharing a store must therefore keep their clocks
// synchronized (NTP); skew eats into the 10s of every lease that is
// reserved for the write after the request, and a skew beyond it could let
// another process claim a grant whose rotated token is not yet stored.
//
// Tokens are sealed with bridge/seal, bound to their row and column by
// seal.AAD(sessionID, "access") and seal.AAD(sessionID, "refresh").
package refresh

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sessionbridge/sessionbridge/bridge/lifecycle"
	"github.com/sessionbridge/sessionbridge/bridge/seal"
	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/providers"
)

// OnFailure values: what a permanent refresh error does to the session.
const (
	// EndSession deletes the session: it no longer authenticates.
	EndSession = "end_session"
	// KeepSession keeps the session but clears its provider tokens.
	KeepSession = "keep_session"
)

// Defaults for zero Options fields.
const (
	DefaultBeforeExpiry     = 5 * time.Minute
	DefaultTimeout          = 30 * time.Second
	DefaultConcurrency      = 64
	DefaultPollInterval     = 5 * time.Second
	DefaultBreakerThreshold = 5
	DefaultBreakerCooldown  = 30 * time.Second
	// MaxBreakerCooldown caps the doubling cooldown of an open circuit.
	MaxBreakerCooldown = 5 * time.Minute
)

var (
	// ErrSessionEnded is returned by RefreshNow when the provider rejected
	// the grant permanently and the session was deleted. It matches
	// store.ErrNotFound with errors.Is, since the session is gone.
	ErrSessionEnded = fmt.Errorf("refresh: the grant was rejected and the session ended: %w", store.ErrNotFound)
	// ErrGrantRevoked is returned by RefreshNow when the provider rejected
	// the grant permanently and OnFailure is keep_session: the session
	// stays, without provider tokens.
	ErrGrantRevoked = errors.New("refresh: the grant was rejected; the session's provider tokens were cleared")
	// ErrCircuitOpen: the provider failed repeatedly and no request was sent.
	ErrCircuitOpen = errors.New("refresh: provider circuit is open after repeated failures")
	// ErrRateLimited: the per-provider rate limit left no room for the request.
	ErrRateLimited = errors.New("refresh: provider request rate limit reached")
	// ErrRetryScheduled: RefreshNow waited for another worker's refresh of
	// the grant, which failed for a transient reason; that worker
	// scheduled the retry.
	ErrRetryScheduled = errors.New("refresh: a concurrent refresh of the grant failed; a retry is scheduled")
	// ErrNotConfigured: the configuration cannot refresh this grant (its
	// provider is not configured, or its refresh token was sealed with a
	// token key that is gone). Retrying changes nothing until the
	// configuration does.
	ErrNotConfigured = errors.New("refresh: the configuration cannot refresh this grant")
	// ErrBusy: a grant could not be processed before its lease ran short;
	// it was given back to be retried.
	ErrBusy = errors.New("refresh: refresher busy, grant released for a later attempt")
)

// Timer is the part of *time.Timer the refresher uses; tests supply fakes.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
}

// Clock is the refresher's time source. Options.Clock injects it: tests
// pass a manual clock whose timers fire only when the test moves it.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// WallClock is real time read through now (nil: time.Now) with real
// timers: for a process whose notion of "now" is shifted (tests of the
// application) but whose waits are real.
func WallClock(now func() time.Time) Clock {
	if now == nil {
		now = time.Now
	}
	return wallClock{now: now}
}

type wallClock struct{ now func() time.Time }

func (c wallClock) Now() time.Time                 { return c.now() }
func (c wallClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (t realTimer) C() <-chan time.Time { return t.t.C }
func (t realTimer) Stop() bool          { return t.t.Stop() }

// Options configures a Refresher. Store and Keys are required.
type Options struct {
	Store     store.Store
	Keys      *seal.Keyring
	Providers providers.Registry
	// Owner names this process in leases; unique per process. Default:
	// hostname-pid-random.
	Owner string
	// BeforeExpiry: refresh this long before the access token expires
	// (never earlier than half its lifetime). Default 5m.
	BeforeExpiry time.Duration
	// Timeout bounds one token request. Default 30s. Leases last
	// 2*Timeout+10s: up to Timeout waiting for a slot, then the request,
	// then 10s for the write of its result (and clock skew). A grant
	// whose lease has less than Timeout+10s left is given back unsent.
	Timeout time.Duration
	// Limits bound the token requests in flight and their rate.
	Limits Limits
	// OnFailure is EndSession (default) or KeepSession.
	OnFailure string
	// Breaker configures the per-provider circuit breaker.
	Breaker Breaker
	// Clock is the time source (default: WallClock(nil), real time).
	Clock Clock
	// Jitter returns a random duration in [0, max); default uniform.
	Jitter     func(max time.Duration) time.Duration
	Logger     *slog.Logger
	Registerer prometheus.Registerer // nil: metrics are kept but not registered
	// Ended counts sessions ended by a rejected grant; nil counts nothing.
	Ended *lifecycle.Recorder
	// PollInterval is the longest the loop sleeps without re-reading
	// NextRefreshAt, the safety net for grants created by other processes
	// (grants created in this process arrive through Notify). Default 5s.
	PollInterval time.Duration
}

// Limits bound this process's token requests.
type Limits struct {
	// Concurrency bounds the background token requests in flight in this
	// process. Default 64. The loop claims grants ahead of free slots:
	// Concurrency/2 up to 4*Concurrency, as many as the slots free during
	// two of its claims; and holds at most 4*Concurrency more whose write
	// is under way (see capacity).
	Concurrency int
	// ProviderConcurrency bounds in-flight requests per provider. Default
	// Concurrency.
	ProviderConcurrency int
	// ProviderRate limits token requests per second per provider (0 =
	// unlimited); ProviderBurst is the bucket size (default 1).
	ProviderRate  float64
	ProviderBurst int
	// PerProvider overrides the three provider settings above for single
	// providers, by key; zero fields keep the general value.
	PerProvider map[string]ProviderLimit
}

// Breaker configures the per-provider circuit breaker: Threshold
// consecutive transient failures open a provider's circuit for Cooldown
// (doubling up to MaxBreakerCooldown). Defaults 5 and 30s.
type Breaker struct {
	Threshold int
	Cooldown  time.Duration
}

// Refresher refreshes due grants. Its methods are safe for concurrent use;
// Run may be called once at a time.
type Refresher struct {
	store     store.Store
	keys      *seal.Keyring
	providers providers.Registry
	owner     string // background claims
	// onDemandOwner leases on-demand claims (distinct, so the loop and
	// RefreshNow exclude each other).
	onDemandOwner string
	beforeExpiry  time.Duration
	timeout       time.Duration
	lease         time.Duration
	pollInterval  time.Duration
	limits        Limits
	breaker       Breaker
	keepSession   bool // OnFailure is KeepSession
	clock         Clock
	jitter        func(time.Duration) time.Duration
	log           *slog.Logger
	ended         *lifecycle.Recorder
	metrics       *metrics

	mu             sync.Mutex
	providerStates map[string]*providerState
	active         map[string]chan struct{} // grants being worked on in this process
	flights        map[string]*flight       // RefreshNow single-flight
	wake           wakeUp
	// countedAt is when the loop last counted due grants (only the
	// goroutine running tick uses it).
	countedAt time.Time

	capacity capacity
	running  atomic.Bool
	wg       sync.WaitGroup

	// testWaiting, set only by tests, is called when RefreshNow starts
	// waiting for someone else's refresh of a grant.
	testWaiting func(sessionID string)
}

// wakeUp is how the sleeping loop learns of grants due earlier than it
// planned to look (guarded by Refresher.mu, except the channel).
type wakeUp struct {
	planned  time.Time     // when the sleeping loop will wake; zero while ticking
	notifyAt time.Time     // earliest time passed to Notify since the loop last looked
	notify   chan struct{} // wakes the sleeping loop
}

// New validates o and builds a Refresher.
func New(o Options) (*Refresher, error) {
	if err := validate(o); err != nil {
		return nil, err
	}
	o = withDefaults(o)
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	r := &Refresher{
		store: o.Store, keys: o.Keys, providers: o.Providers,
		owner: o.Owner, onDemandOwner: o.Owner + "/now",
		beforeExpiry: o.BeforeExpiry, timeout: o.Timeout, lease: 2*o.Timeout + writeMargin, pollInterval: o.PollInterval,
		limits: o.Limits, breaker: o.Breaker, keepSession: o.OnFailure == KeepSession,
		clock: o.Clock, jitter: o.Jitter, log: o.Logger, ended: o.Ended, metrics: m,
		providerStates: map[string]*providerState{}, active: map[string]chan struct{}{}, flights: map[string]*flight{},
		wake: wakeUp{notify: make(chan struct{}, 1)},
	}
	r.capacity.init(o.Limits.Concurrency)
	return r, nil
}

// validate rejects what no default can repair: a missing store or keys,
// an unknown OnFailure, a negative setting.
func validate(o Options) error {
	if o.Store == nil || o.Keys == nil {
		return errors.New("refresh: Store and Keys are required")
	}
	switch o.OnFailure {
	case "", EndSession, KeepSession:
	default:
		return fmt.Errorf("refresh: OnFailure must be %q or %q, not %q", EndSession, KeepSession, o.OnFailure)
	}
	l := o.Limits
	if min(o.BeforeExpiry, o.Timeout, o.PollInterval, o.Breaker.Cooldown) < 0 ||
		min(l.Concurrency, l.ProviderConcurrency, l.ProviderBurst, o.Breaker.Threshold) < 0 || l.ProviderRate < 0 {
		return errors.New("refresh: negative option")
	}
	return nil
}

// withDefaults fills the zero fields of o.
func withDefaults(o Options) Options {
	defaultTo(&o.OnFailure, EndSession)
	defaultTo(&o.BeforeExpiry, DefaultBeforeExpiry)
	defaultTo(&o.Timeout, DefaultTimeout)
	defaultTo(&o.PollInterval, DefaultPollInterval)
	defaultTo(&o.Limits.Concurrency, DefaultConcurrency)
	defaultTo(&o.Limits.ProviderConcurrency, o.Limits.Concurrency)
	if o.Limits.ProviderRate > 0 {
		defaultTo(&o.Limits.ProviderBurst, 1)
	}
	defaultTo(&o.Breaker.Threshold, DefaultBreakerThreshold)
	defaultTo(&o.Breaker.Cooldown, DefaultBreakerCooldown)
	if o.Owner == "" {
		o.Owner = defaultOwner()
	}
	if o.Clock == nil {
		o.Clock = WallClock(nil)
	}
	if o.Jitter == nil {
		o.Jitter = uniformJitter
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// defaultTo sets *p to v when *p is the zero value.
func defaultTo[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

func defaultOwner() string {
	host, _ := os.Hostname()
	var b [6]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

func uniformJitter(max time.Duration) time.Duration {
	if max <= 0 {
		return 0
	}
	return mrand.N(max)
}

// now is the injected clock's time.
func (r *Refresher) now() time.Time { return r.clock.Now() }

// Schedule is the package Schedule with this Refresher's BeforeExpiry and
// jitter, and zero when there is no refresh token: what a login should
// store as a new session's RefreshAt.
func (r *Refresher) Schedule(issued, expiry time.Time, hasRefreshToken bool) time.Time {
	if !hasRefreshToken {
		return time.Time{}
	}
	return Schedule(issued, expiry, r.beforeExpiry, r.jitter)
}

// ScheduleFor is Schedule for a new grant of provider with a refresh
// token, never sooner than the provider's minimum refresh interval.
func (r *Refresher) ScheduleFor(provider string, issued, expiry time.Time) time.Time {
	at := r.Schedule(issued, expiry, true)
	if m := r.providerState(provider).minInterval; m > 0 && !at.IsZero() {
		at = maxTime(at, issued.Add(m))
	}
	return at
}

// Notify tells the loop that a grant is due at `at` (a login created it, or
// a refresh rescheduled it). It never blocks; the loop wakes earlier when
// `at` comes before its planned wake.
func (r *Refresher) Notify(at time.Time) {
	if at.IsZero() {
		return
	}
	r.mu.Lock()
	if r.wake.notifyAt.IsZero() || at.Before(r.wake.notifyAt) {
		r.wake.notifyAt = at
	}
	wake := !r.wake.planned.IsZero() && at.Before(r.wake.planned)
	r.mu.Unlock()
	if wake {
		select {
		case r.wake.notify <- struct{}{}:
		default:
		}
	}
}

// markActive records that this process works on a grant; it returns nil
// when another goroutine already does.
func (r *Refresher) markActive(id string) chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, busy := r.active[id]; busy {
		return nil
	}
	ch := make(chan struct{})
	r.active[id] = ch
	return ch
}

func (r *Refresher) unmarkActive(id string, ch chan struct{}) {
	r.mu.Lock()
	if r.active[id] == ch {
		delete(r.active, id)
	}
	r.mu.Unlock()
	close(ch)
}

func (r *Refresher) activeChan(id string) chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.active[id]
}
