package refresh

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/providers"
)

// fakeClock is a manual clock. Timers fire only when the test moves the
// clock, so waits that would take minutes take none.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers map[*fakeTimer]bool
}

type fakeTimer struct {
	clk *fakeClock
	at  time.Time
	c   chan time.Time
}

func newFakeClock(t0 time.Time) *fakeClock {
	return &fakeClock{now: t0, timers: map[*fakeTimer]bool{}}
}

var _ Clock = (*fakeClock)(nil)

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{clk: c, at: c.now.Add(d), c: make(chan time.Time, 1)}
	if d <= 0 {
		t.c <- c.now
	} else {
		c.timers[t] = true
	}
	return t
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.clk.mu.Lock()
	defer t.clk.mu.Unlock()
	pending := t.clk.timers[t]
	delete(t.clk.timers, t)
	return pending
}

// Set moves the clock to t (never backwards) and fires due timers.
func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
	for tm := range c.timers {
		if !tm.at.After(c.now) {
			delete(c.timers, tm)
			tm.c <- c.now
		}
	}
}

func (c *fakeClock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// pending returns the deadlines of the armed timers, earliest first.
func (c *fakeClock) pending() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []time.Time
	for tm := range c.timers {
		out = append(out, tm.at)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

// eventually waits (in real time) until cond holds; the deadline only
// turns a hang into a failure, it asserts nothing about speed.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// fakeProvider is a token endpoint with refresh-token rotation and reuse
// detection: every refresh token is valid once; a superseded one is a
// replay and answers invalid_grant.
type fakeProvider struct {
	key     string
	now     func() time.Time
	ttl     time.Duration // access token lifetime; 0: the response has no expiry
	rotate  bool          // issue a new refresh token on every refresh
	latency time.Duration // real-time delay of every request

	mu        sync.Mutex
	seq       int
	valid     map[string]string // live refresh token -> subject
	used      map[string]int    // refresh token -> requests that carried it
	calls     int
	replays   int
	callTimes []time.Time
	// fail, when set, may answer request n (1-based) with an error.
	fail func(n int, rt string) error
	// gate, when set, holds every request until it is closed.
	gate    chan struct{}
	entered chan struct{} // receives one value per request, if set
	// onCall, when set, is called as each request arrives, with its
	// Subject (benchmarks measure lateness with it).
	onCall func(subject string)
	// active and maxActive count requests in progress.
	active, maxActive int
	// slept is the real time spent in latency sleeps (which overshoot
	// under load).
	slept time.Duration
}

func newFakeProvider(key string, now func() time.Time) *fakeProvider {
	return &fakeProvider{key: key, now: now, ttl: time.Hour, rotate: true, valid: map[string]string{}, used: map[string]int{}}
}

var _ providers.Provider = (*fakeProvider)(nil)

func (f *fakeProvider) Key() string { return f.key }

func (f *fakeProvider) AuthCodeURL(context.Context, providers.AuthRequest) (string, error) {
	return "", errors.New("fake: no logins")
}

func (f *fakeProvider) Exchange(context.Context, providers.Callback, providers.AuthRequest) (*providers.Login, error) {
	return nil, errors.New("fake: no logins")
}

// issue makes a new live refresh token for subject.
func (f *fakeProvider) issue(subject string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	rt := fmt.Sprintf("%s-rt-%d", f.key, f.seq)
	f.valid[rt] = subject
	return rt
}

func (f *fakeProvider) Refresh(ctx context.Context, req providers.RefreshRequest) (*providers.Token, error) {
	f.mu.Lock()
	f.calls++
	n := f.calls
	f.used[req.RefreshToken]++
	f.callTimes = append(f.callTimes, f.now())
	fail, gate, entered, latency, onCall := f.fail, f.gate, f.entered, f.latency, f.onCall
	f.active++
	f.maxActive = max(f.maxActive, f.active)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.active--
		f.mu.Unlock()
	}()
	if onCall != nil {
		onCall(req.Subject)
	}
	if entered != nil {
		entered <- struct{}{}
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, &providers.OAuthError{Err: ctx.Err()}
		}
	}
	if latency > 0 {
		start := time.Now()
		preciseSleep(latency)
		f.mu.Lock()
		f.slept += time.Since(start)
		f.mu.Unlock()
	}
	if fail != nil {
		if err := fail(n, req.RefreshToken); err != nil {
			return nil, err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	sub, ok := f.valid[req.RefreshToken]
	if !ok {
		f.replays++
		return nil, &providers.OAuthError{Code: "invalid_grant", HTTPStatus: 400}
	}
	if sub != req.Subject {
		return nil, &providers.VerificationError{Check: "sub"}
	}
	f.seq++
	tok := &providers.Token{AccessToken: fmt.Sprintf("%s-at-%d", f.key, f.seq)}
	if f.ttl > 0 {
		tok.Expiry = f.now().Add(f.ttl)
	}
	if f.rotate {
		delete(f.valid, req.RefreshToken)
		tok.RefreshToken = fmt.Sprintf("%s-rt-%d", f.key, f.seq)
		f.valid[tok.RefreshToken] = sub
	}
	return tok, nil
}

func (f *fakeProvider) stats() (calls, replays int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls, f.replays
}

// peakActive is the most requests that were in progress at once.
func (f *fakeProvider) peakActive() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.maxActive
}

// meanLatency is the mean real duration of the latency sleeps.
func (f *fakeProvider) meanLatency() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == 0 {
		return 0
	}
	return f.slept / time.Duration(f.calls)
}

func (f *fakeProvider) callTime(i int) time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.callTimes[i]
}

// sendTimes is a copy of the arrival time of every request.
func (f *fakeProvider) sendTimes() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.callTimes)
}

func (f *fakeProvider) callCount() int {
	c, _ := f.stats()
	return c
}

// reused lists refresh tokens that were sent more than once.
func (f *fakeProvider) reused() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for rt, n := range f.used {
		if n > 1 {
			out = append(out, fmt.Sprintf("%s x%d", rt, n))
		}
	}
	return out
}

func (f *fakeProvider) setFail(fn func(n int, rt string) error) {
	f.mu.Lock()
	f.fail = fn
	f.mu.Unlock()
}

// hold makes every request wait until release is called; each request
// announces itself on the returned channel.
func (f *fakeProvider) hold() (entered <-chan struct{}, release func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gate = make(chan struct{})
	f.entered = make(chan struct{}, 1000)
	gate := f.gate
	var once sync.Once
	return f.entered, func() { once.Do(func() { close(gate) }) }
}

// funcProvider answers Refresh with fn, for responses the fake does not model.
type funcProvider struct {
	*fakeProvider
	fn func(n int) (*providers.Token, error)
}

func (p *funcProvider) Refresh(ctx context.Context, req providers.RefreshRequest) (*providers.Token, error) {
	p.mu.Lock()
	p.calls++
	n := p.calls
	p.mu.Unlock()
	return p.fn(n)
}

// preciseSleep waits d on the fake's precise clock. time.Sleep wakes
// through the runtime's timer, whose netpoll wait has millisecond
// resolution: a 20 ms sleep took 21 ms on average with 64 in flight, 5 %
// longer than the latency the fake stands for (a real provider's answer
// arrives as a socket event, which the netpoller delivers at once).
func preciseSleep(d time.Duration) {
	preciseOnce.Do(func() { go precise.run() })
	w := preciseWaiter{at: time.Now().Add(d), done: make(chan struct{})}
	precise.mu.Lock()
	i, _ := slices.BinarySearchFunc(precise.queue, w.at, func(q preciseWaiter, at time.Time) int { return q.at.Compare(at) })
	precise.queue = slices.Insert(precise.queue, i, w)
	precise.mu.Unlock()
	select {
	case precise.kick <- struct{}{}:
	default:
	}
	<-w.done
}

var (
	precise     = &preciseClock{kick: make(chan struct{}, 1)}
	preciseOnce sync.Once
)

// preciseClock wakes waiters, earliest deadline first, from a goroutine
// that sleeps in nanosleep (at most a millisecond at a time, so that a
// waiter with an earlier deadline that arrives meanwhile is not woken
// much late).
type preciseClock struct {
	mu    sync.Mutex
	queue []preciseWaiter // by deadline
	kick  chan struct{}
}

type preciseWaiter struct {
	at   time.Time
	done chan struct{}
}

func (c *preciseClock) run() {
	for {
		c.mu.Lock()
		if len(c.queue) == 0 {
			c.mu.Unlock()
			<-c.kick
			continue
		}
		next := c.queue[0].at
		c.mu.Unlock()
		if d := min(time.Until(next), time.Millisecond); d > 0 {
			ts := syscall.NsecToTimespec(int64(d))
			for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
			}
		}
		now := time.Now()
		c.mu.Lock()
		n := 0
		for n < len(c.queue) && !c.queue[n].at.After(now) {
			close(c.queue[n].done)
			n++
		}
		c.queue = slices.Delete(c.queue, 0, n)
		c.mu.Unlock()
		if n > 0 {
			// Let the woken run before this goroutine's P blocks again
			// in nanosleep with them in its run queue.
			runtime.Gosched()
		}
	}
}
