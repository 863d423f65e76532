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
	// ErrNotRunning is what Ready reports while Run is not running.
	ErrNotRunning = errors.New("refresh: refresher is not running")
	// ErrBusy: a grant could not be processed before its lease ran short;
	// it was given back to be retried.
	ErrBusy = errors.New("refresh: refresher busy, grant released for a later attempt")
)

// Timer is the part of *time.Timer the refresher uses; tests supply fakes.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
}

// Clock is the time source: Now and NewTimer. Options takes the two
// functions; this interface documents the pair (a fake clock implements it).
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

type realTimer struct{ t *time.Timer }

func (t realTimer) C() <-chan time.Time { return t.t.C }
func (t realTimer) Stop() bool          { return t.t.Stop() }

func newRealTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

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
	// Concurrency bounds the background token requests in flight in this
	// process. Default 64. The loop claims up to Concurrency/2 grants
	// ahead of free slots, and holds at most 2.5*Concurrency claimed
	// grants including those whose write is under way.
	Concurrency int
	// ProviderConcurrency bounds in-flight requests per provider. Default Concurrency.
	ProviderConcurrency int
	// ProviderRate limits token requests per second per provider (0 =
	// unlimited); ProviderBurst is the bucket size (default 1).
	ProviderRate  float64
	ProviderBurst int
	// ProviderLimits override the three settings above for single
	// providers, by key; zero fields keep the general value.
	ProviderLimits map[string]ProviderLimit
	// OnFailure is EndSession (default) or KeepSession.
	OnFailure string
	// BreakerThreshold consecutive transient failures open a provider's
	// circuit for BreakerCooldown (doubling up to MaxBreakerCooldown).
	// Defaults 5 and 30s.
	BreakerThreshold int
	BreakerCooldown  time.Duration
	// Now and NewTimer are the clock (default: real time).
	Now      func() time.Time
	NewTimer func(d time.Duration) Timer
	// Jitter returns a random duration in [0, max); default uniform.
	Jitter     func(max time.Duration) time.Duration
	Logger     *slog.Logger
	Registerer prometheus.Registerer // nil: metrics are kept but not registered
	// Ended counts sessions ended by a rejected grant; nil counts nothing.
	Ended *lifecycle.Recorder
	// OnEnded is called after a permanent failure deleted a session
	// (e.g. to invalidate caches).
	OnEnded func(sessionID string)
	// PollInterval is the longest the loop sleeps without re-reading
	// NextRefreshAt, the safety net for grants created by other processes
	// (grants created in this process arrive through Notify). Default 5s.
	PollInterval time.Duration
}

// Refresher refreshes due grants. Its methods are safe for concurrent use;
// Run may be called once at a time.
type Refresher struct {
	store     store.Store
	keys      *seal.Keyring
	providers providers.Registry
	owner     string // background claims
	nowOwner  string // on-demand claims (distinct, so the loop and RefreshNow exclude each other)
	before    time.Duration
	timeout   time.Duration
	lease     time.Duration
	poll      time.Duration
	conc      int
	provConc  int
	rate      float64
	burst     int
	overrides map[string]ProviderLimit
	keep      bool
	brThresh  int
	brCool    time.Duration
	now       func() time.Time
	newTimer  func(time.Duration) Timer
	jitter    func(time.Duration) time.Duration
	log       *slog.Logger
	onEnded   func(string)
	ended     *lifecycle.Recorder
	m         *metrics

	mu       sync.Mutex
	provs    map[string]*provState
	active   map[string]chan struct{} // grants being worked on in this process
	flights  map[string]*flight       // RefreshNow single-flight
	planned  time.Time                // when the sleeping loop will wake; zero while ticking
	notifyAt time.Time                // earliest time passed to Notify since the loop last looked
	storeErr error
	// countedAt is when the loop last counted due grants (only the
	// goroutine running tick uses it).
	countedAt time.Time

	notifyCh chan struct{}
	slotCh   chan struct{}
	// slots holds one token per background token request in flight
	// (Concurrency). waiting counts claimed grants that have not yet
	// sent their request and given the slot back: up to prefetch more
	// than there are slots, the surplus waiting for a slot. inflight
	// counts claimed grants until their write is done: at most
	// maxClaimed.
	slots    chan struct{}
	prefetch int
	waiting  atomic.Int64
	inflight atomic.Int64
	running  atomic.Bool
	wg       sync.WaitGroup

	// testWaiting, set only by tests, is called when RefreshNow starts
	// waiting for someone else's refresh of a grant.
	testWaiting func(sessionID string)
}

// New validates o and builds a Refresher.
func New(o Options) (*Refresher, error) {
	if o.Store == nil || o.Keys == nil {
		return nil, errors.New("refresh: Store and Keys are required")
	}
	switch o.OnFailure {
	case "":
		o.OnFailure = EndSession
	case EndSession, KeepSession:
	default:
		return nil, fmt.Errorf("refresh: OnFailure must be %q or %q, not %q", EndSession, KeepSession, o.OnFailure)
	}
	if o.BeforeExpiry < 0 || o.Timeout < 0 || o.Concurrency < 0 || o.ProviderConcurrency < 0 ||
		o.ProviderRate < 0 || o.ProviderBurst < 0 || o.PollInterval < 0 || o.BreakerThreshold < 0 || o.BreakerCooldown < 0 {
		return nil, errors.New("refresh: negative option")
	}
	def(&o.BeforeExpiry, DefaultBeforeExpiry)
	def(&o.Timeout, DefaultTimeout)
	def(&o.Concurrency, DefaultConcurrency)
	def(&o.ProviderConcurrency, o.Concurrency)
	def(&o.PollInterval, DefaultPollInterval)
	def(&o.BreakerThreshold, DefaultBreakerThreshold)
	def(&o.BreakerCooldown, DefaultBreakerCooldown)
	if o.ProviderRate > 0 {
		def(&o.ProviderBurst, 1)
	}
	if o.Owner == "" {
		o.Owner = defaultOwner()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.NewTimer == nil {
		o.NewTimer = newRealTimer
	}
	if o.Jitter == nil {
		o.Jitter = uniformJitter
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	return &Refresher{
		store: o.Store, keys: o.Keys, providers: o.Providers,
		owner: o.Owner, nowOwner: o.Owner + "/now",
		before: o.BeforeExpiry, timeout: o.Timeout, lease: 2*o.Timeout + writeMargin, poll: o.PollInterval,
		conc: o.Concurrency, provConc: o.ProviderConcurrency, rate: o.ProviderRate, burst: o.ProviderBurst,
		overrides: o.ProviderLimits,
		keep:      o.OnFailure == KeepSession, brThresh: o.BreakerThreshold, brCool: o.BreakerCooldown,
		now: o.Now, newTimer: o.NewTimer, jitter: o.Jitter, log: o.Logger, onEnded: o.OnEnded, ended: o.Ended, m: m,
		provs: map[string]*provState{}, active: map[string]chan struct{}{}, flights: map[string]*flight{},
		notifyCh: make(chan struct{}, 1), slotCh: make(chan struct{}, 1),
		slots: make(chan struct{}, o.Concurrency), prefetch: prefetchFor(o.Concurrency),
	}, nil
}

// prefetchFor is how many grants beyond its free slots the loop claims
// ahead, half the concurrency: when a request finishes, a claimed grant is
// already waiting for the slot, and claims come in batches of at least
// half that instead of one store transaction per finished refresh. (A
// quarter left a few slots idle in the benchmark while a claim was under
// way.)
func prefetchFor(conc int) int { return max(1, conc/2) }

// maxClaimed bounds the grants a process holds at once, writes included:
// twice Concurrency plus the prefetch, so a slow store pauses claiming
// instead of piling up finished refreshes waiting for their write.
func (r *Refresher) maxClaimed() int { return 2*r.conc + r.prefetch }

func def[T comparable](p *T, v T) {
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

// Owner returns the lease owner name of background claims.
func (r *Refresher) Owner() string { return r.owner }

// Schedule is the package Schedule with this Refresher's BeforeExpiry and
// jitter, and zero when there is no refresh token: what a login should
// store as a new session's RefreshAt.
func (r *Refresher) Schedule(issued, expiry time.Time, hasRefreshToken bool) time.Time {
	if !hasRefreshToken {
		return time.Time{}
	}
	return Schedule(issued, expiry, r.before, r.jitter)
}

// ScheduleFor is Schedule for a new grant of provider with a refresh
// token, never sooner than the provider's minimum refresh interval.
func (r *Refresher) ScheduleFor(provider string, issued, expiry time.Time) time.Time {
	at := r.Schedule(issued, expiry, true)
	if m := r.provState(provider).minInterval; m > 0 && !at.IsZero() {
		at = maxTime(at, issued.Add(m))
	}
	return at
}

// Ready reports nil while Run is running and its last store access worked.
func (r *Refresher) Ready() error {
	if !r.running.Load() {
		return ErrNotRunning
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.storeErr != nil {
		return fmt.Errorf("refresh: store unavailable: %w", r.storeErr)
	}
	return nil
}

// Notify tells the loop that a grant is due at `at` (a login created it, or
// a refresh rescheduled it). It never blocks; the loop wakes earlier when
// `at` comes before its planned wake.
func (r *Refresher) Notify(at time.Time) {
	if at.IsZero() {
		return
	}
	r.mu.Lock()
	if r.notifyAt.IsZero() || at.Before(r.notifyAt) {
		r.notifyAt = at
	}
	wake := !r.planned.IsZero() && at.Before(r.planned)
	r.mu.Unlock()
	if wake {
		select {
		case r.notifyCh <- struct{}{}:
		default:
		}
	}
}

func (r *Refresher) setStoreErr(err error) {
	r.mu.Lock()
	r.storeErr = err
	r.mu.Unlock()
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
