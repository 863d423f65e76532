package refresh

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sessionbridge/sessionbridge/bridge/lifecycle"
	"github.com/sessionbridge/sessionbridge/bridge/seal"
	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/bridge/store/memstore"
	"github.com/sessionbridge/sessionbridge/bridge/store/sqlite"
	"github.com/sessionbridge/sessionbridge/providers"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// storeKinds are the backends the key tests run on.
var storeKinds = []string{"mem", "sqlite"}

func openStore(t testing.TB, kind string) store.Store {
	t.Helper()
	switch kind {
	case "mem":
		return memstore.New()
	case "sqlite":
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "sb.db"))
		if err != nil {
			t.Fatalf("sqlite.Open: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	case "postgres":
		return openPostgres(t)
	}
	t.Fatalf("unknown store kind %q", kind)
	return nil
}

func testKeys(t testing.TB) *seal.Keyring {
	t.Helper()
	k, err := seal.New([][]byte{bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// harness is one Refresher over a store, a fake provider "fake" and
// (unless real is set) a fake clock at t0.
type harness struct {
	t      testing.TB
	st     store.Store
	clk    *fakeClock // nil with a real clock
	now    func() time.Time
	prov   *fakeProvider
	keys   *seal.Keyring
	reg    *prometheus.Registry
	r      *Refresher
	userID string
	logs   *bytes.Buffer
	logMu  sync.Mutex

	endedRec *lifecycle.Recorder
}

type hopt struct {
	kind string
	real bool
	mod  func(*Options)
}

func newHarness(t testing.TB, o hopt) *harness {
	t.Helper()
	if o.kind == "" {
		o.kind = "mem"
	}
	h := &harness{t: t, st: openStore(t, o.kind), keys: testKeys(t), reg: prometheus.NewRegistry(), logs: &bytes.Buffer{}}
	h.now = time.Now
	if !o.real {
		h.clk = newFakeClock(t0)
		h.now = h.clk.Now
	}
	h.prov = newFakeProvider("fake", h.now)
	u, err := h.st.UpsertIdentity(context.Background(), store.IdentityInput{Provider: "fake", ProviderUID: "user"}, h.now())
	if err != nil {
		t.Fatal(err)
	}
	h.userID = u.ID
	h.r = h.newRefresher(o.mod)
	return h
}

// newRefresher builds a Refresher on the harness's store, provider and
// clock (a second one stands for another process).
func (h *harness) newRefresher(mod func(*Options)) *Refresher {
	h.t.Helper()
	opts := Options{
		Store: h.st, Keys: h.keys, Providers: providers.Registry{"fake": h.prov},
		Owner: fmt.Sprintf("test-%p", h), Timeout: 5 * time.Second, PollInterval: 24 * time.Hour,
		Jitter:     func(max time.Duration) time.Duration { return max / 2 },
		Registerer: h.reg,
		Logger:     slog.New(slog.NewTextHandler(&lockedWriter{w: h.logs, mu: &h.logMu}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if h.clk != nil {
		opts.Clock = h.clk
	}
	if h.endedRec == nil {
		rec, err := lifecycle.New(h.reg)
		if err != nil {
			h.t.Fatal(err)
		}
		h.endedRec = rec
	}
	opts.Ended = h.endedRec
	if h.r != nil {
		opts.Registerer = nil // the first refresher owns the registry
		opts.Owner += "-2"
	}
	if mod != nil {
		mod(&opts)
	}
	r, err := New(opts)
	if err != nil {
		h.t.Fatalf("New: %v", err)
	}
	return r
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// addGrant stores a session with a live refresh token of the fake
// provider, an access token expiring at expiry and RefreshAt = refreshAt.
func (h *harness) addGrant(id string, expiry, refreshAt time.Time) {
	h.t.Helper()
	rt := h.prov.issue("sub-" + id)
	at, _ := h.keys.Seal("initial-at-"+id, seal.AAD(id, "access"))
	rts, _ := h.keys.Seal(rt, seal.AAD(id, "refresh"))
	now := h.now()
	s := &store.Session{
		ID: id, UserID: h.userID, CreatedAt: now, UpdatedAt: now, Expire: now.Add(365 * 24 * time.Hour),
		SecretHash: []byte("hash-" + id), Provider: "fake", ProviderUID: "sub-" + id,
		AccessTokenSealed: at, RefreshTokenSealed: rts, AccessTokenExpiry: expiry, RefreshAt: refreshAt,
	}
	if err := h.st.CreateSession(context.Background(), s); err != nil {
		h.t.Fatalf("CreateSession: %v", err)
	}
}

func (h *harness) get(id string) store.Session {
	h.t.Helper()
	s, err := h.st.GetSession(context.Background(), id)
	if err != nil {
		h.t.Fatalf("GetSession(%s): %v", id, err)
	}
	return s
}

func (h *harness) gone(id string) bool {
	_, err := h.st.GetSession(context.Background(), id)
	return err != nil
}

func (h *harness) open(s store.Session, column string) string {
	h.t.Helper()
	sealed := s.AccessTokenSealed
	if column == "refresh" {
		sealed = s.RefreshTokenSealed
	}
	v, err := h.keys.Open(sealed, seal.AAD(s.ID, column))
	if err != nil {
		h.t.Fatalf("open %s token of %s: %v", column, s.ID, err)
	}
	return v
}

// tick runs one scheduler tick of h.r at the current time and waits for
// the grants it dispatched.
func (h *harness) tick() {
	h.t.Helper()
	h.tickWith(h.r, nil)
}

func (h *harness) tickWith(r *Refresher, stop chan struct{}) {
	h.t.Helper()
	r.tick(context.Background(), stop, false)
	r.wg.Wait()
}

// quiet waits until r's loop sleeps with nothing in flight and returns
// when it will wake.
//
// The loop reads the clock, records planned = now+d, then arms a timer for
// d, which the fake clock counts from its own now: a test moving the clock
// in between (creep) arms the timer up to a few ticks after planned. The
// timer, not planned, is when the loop really wakes.
func (h *harness) quiet(r *Refresher) time.Time {
	h.t.Helper()
	const drift = time.Second
	var wake time.Time
	eventually(h.t, "the refresher loop to go idle", func() bool {
		r.mu.Lock()
		at := r.wake.planned
		r.mu.Unlock()
		if at.IsZero() || r.capacity.claimed.Load() != 0 || len(r.wake.notify) != 0 {
			return false
		}
		// The loop's timer is armed (not fired and still unread).
		for _, p := range h.clk.pending() {
			if !p.Before(at) && p.Sub(at) <= drift {
				wake = p
				return true
			}
		}
		return false
	})
	return wake
}

func (h *harness) logString() string {
	h.logMu.Lock()
	defer h.logMu.Unlock()
	return h.logs.String()
}

// endedCount is how many sessions the harness's refreshers ended because
// their grant was rejected (sessions_ended_total{reason=refresh_rejected}).
func (h *harness) endedCount() float64 {
	return testutil.ToFloat64(h.endedRec.Counter().WithLabelValues("fake", string(lifecycle.RefreshRejected)))
}

func (h *harness) attempts(result string) float64 {
	return testutil.ToFloat64(h.r.metrics.attempts.WithLabelValues("fake", result))
}

// run starts h.r.Run and returns a function that stops it and waits.
func (h *harness) run(r *Refresher) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	return func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				h.t.Errorf("Run returned %v", err)
			}
		case <-time.After(20 * time.Second):
			h.t.Fatal("Run did not return after cancel")
		}
	}
}

func oauthErr(code string, status int) error {
	return &providers.OAuthError{Code: code, HTTPStatus: status}
}

func failAlways(err error) func(int, string) error {
	return func(int, string) error { return err }
}

func forKinds(t *testing.T, fn func(t *testing.T, kind string)) {
	for _, k := range storeKinds {
		t.Run(k, func(t *testing.T) { fn(t, k) })
	}
}

// recv waits for one value from ch; the deadline only turns a hang into a failure.
// waitsOf reports, on the returned channel, the sessions for which r's
// RefreshNow starts waiting for another refresh (extra reports are dropped).
func waitsOf(r *Refresher) <-chan string {
	ch := make(chan string, 1)
	r.testWaiting = func(id string) {
		select {
		case ch <- id:
		default:
		}
	}
	return ch
}

// refreshResult is what a RefreshNow started by goRefreshNow returned.
type refreshResult struct {
	s   store.Session
	err error
}

// goRefreshNow calls r.RefreshNow in the background; the result arrives
// on the returned channel.
func goRefreshNow(ctx context.Context, r *Refresher, id string) <-chan refreshResult {
	ch := make(chan refreshResult, 1)
	go func() {
		s, err := r.RefreshNow(ctx, id)
		ch <- refreshResult{s, err}
	}()
	return ch
}

func recv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}
