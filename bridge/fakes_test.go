package bridge_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sessionbridge/sessionbridge/bridge"
	"github.com/sessionbridge/sessionbridge/bridge/lifecycle"
	"github.com/sessionbridge/sessionbridge/bridge/seal"
	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/bridge/store/memstore"
	"github.com/sessionbridge/sessionbridge/internal/testenv"
	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/providertest"
)

// t0 is when every test's clock starts.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fakeRefresher is the domain's Refresher port: it records what the
// service asks and renews a grant the way the refresher would (new sealed
// tokens, a later expiry), or answers with err.
type fakeRefresher struct {
	st   store.Store
	keys *seal.Keyring
	now  func() time.Time

	mu       sync.Mutex
	err      error // RefreshNow's answer when set
	notified []time.Time
	asked    []string // session IDs RefreshNow was called with
	parked   map[string]string
}

var _ bridge.ParkingRefresher = (*fakeRefresher)(nil)

func (f *fakeRefresher) Notify(at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.notified = append(f.notified, at)
}

// ScheduleFor is ten minutes before expiry, as refresh.before_expiry
// would put it.
func (f *fakeRefresher) ScheduleFor(_ string, _, expiry time.Time) time.Time {
	return expiry.Add(-10 * time.Minute)
}

func (f *fakeRefresher) Parked() map[string]string { return f.parked }

func (f *fakeRefresher) setErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *fakeRefresher) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.asked...)
}

func (f *fakeRefresher) RefreshNow(ctx context.Context, id string) (store.Session, error) {
	f.mu.Lock()
	f.asked = append(f.asked, id)
	err := f.err
	f.mu.Unlock()
	sess, gerr := f.st.GetSession(ctx, id)
	if gerr != nil {
		return store.Session{}, gerr
	}
	if err != nil {
		return sess, err
	}
	n := len(f.calls())
	access, serr := f.keys.Seal(fmt.Sprintf("renewed-access-%d", n), seal.AAD(id, "access"))
	if serr != nil {
		return sess, serr
	}
	sess.AccessTokenSealed = access
	sess.AccessTokenExpiry = f.now().Add(time.Hour)
	sess.RefreshedAt = f.now()
	if err := f.st.CompareAndSwapSession(ctx, &sess); err != nil {
		return sess, err
	}
	return sess, nil
}

// fakeRevoker is the TokenRevoker port: it runs the background work at
// once, so a test sees its effect when the call returns.
type fakeRevoker struct {
	mu     sync.Mutex
	sent   []providers.RevokeRequest
	counts map[string]int
}

func (r *fakeRevoker) Go(fn func(ctx context.Context)) { fn(context.Background()) }

func (r *fakeRevoker) Send(_ context.Context, _ string, req providers.RevokeRequest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, req)
}

func (r *fakeRevoker) Count(_, result string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.counts == nil {
		r.counts = map[string]int{}
	}
	r.counts[result]++
}

// fakeDetector names every client the same way.
type fakeDetector struct{ country string }

func (d fakeDetector) Detect(m bridge.ClientMeta) store.Client {
	return store.Client{IP: m.IP, OSCode: "LIN", ClientName: "Fake Browser " + m.UserAgent, CountryCode: d.country}
}

// env is a Service over memstore and providertest fakes with an injected
// clock.
type env struct {
	t         *testing.T
	clock     *testenv.Clock
	store     *memstore.Store
	keys      *seal.Keyring
	idp       *providertest.Provider
	refresher *fakeRefresher
	revoker   *fakeRevoker
	ended     *lifecycle.Recorder
	metrics   *prometheus.Registry
	svc       *bridge.Service
}

// newEnv builds an env with one provider "corp"; edit may change the
// options (or the provider) before the service is built.
func newEnv(t *testing.T, edit func(*env, *bridge.Options)) *env {
	t.Helper()
	keys, err := seal.New([][]byte{bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, clock: testenv.NewClock(t0), store: memstore.New(), keys: keys, revoker: &fakeRevoker{},
		metrics: prometheus.NewRegistry()}
	e.idp = &providertest.Provider{Name: "corp", TokenTTL: time.Hour, SessionID: "sid-1", Now: e.clock.Now}
	e.refresher = &fakeRefresher{st: e.store, keys: keys, now: e.clock.Now}
	if e.ended, err = lifecycle.New(e.metrics); err != nil {
		t.Fatal(err)
	}
	m, err := bridge.NewMetrics(e.metrics)
	if err != nil {
		t.Fatal(err)
	}
	o := bridge.Options{
		Store: e.store, Keys: keys, Providers: providers.Registry{"corp": e.idp},
		Refresher: e.refresher, Detector: fakeDetector{country: "de"}, Now: e.clock.Now, Ended: e.ended,
		Revoker: e.revoker, Metrics: m, MaxPerUser: 3, FreshWithin: 10 * time.Minute,
	}
	if edit != nil {
		edit(e, &o)
	}
	e.svc = bridge.New(o)
	return e
}

var alice = providers.Identity{Subject: "alice-1", Email: "alice@example.com", EmailVerified: true, Name: "Alice"}
var bob = providers.Identity{Subject: "bob-1", Email: "bob@example.com", Name: "Bob"}

var client = bridge.ClientMeta{IP: "192.0.2.1", UserAgent: "1.0"}

// begin starts a login through the bind hop and returns the browser's
// flow with the authorization URL.
func (e *env) begin(mode string) bridge.BoundFlow {
	e.t.Helper()
	ctx := context.Background()
	handle, err := e.svc.BeginLogin(ctx, bridge.LoginStart{Provider: "corp", Mode: mode,
		Success: "https://app.example/ok", Failure: "https://app.example/fail", Scopes: []string{"extra"}})
	if err != nil {
		e.t.Fatalf("BeginLogin: %v", err)
	}
	bound, authURL, err := e.svc.BindLogin(ctx, handle)
	if err != nil || authURL == "" {
		e.t.Fatalf("BindLogin: %q, %v", authURL, err)
	}
	return bound
}

// finish approves the login as id at the provider and completes it.
func (e *env) finish(bound bridge.BoundFlow, id providers.Identity) (*bridge.LoginResult, error) {
	code := e.idp.Approve(bound.State, id)
	return e.svc.CompleteLogin(context.Background(),
		bridge.CallbackInput{Provider: bound.Provider, State: bound.State, Code: code}, bound, client)
}

// login runs a whole session-mode login as id and fails the test if it fails.
func (e *env) login(id providers.Identity) *bridge.LoginResult {
	e.t.Helper()
	res, err := e.finish(e.begin(bridge.ModeSession), id)
	if err != nil {
		e.t.Fatalf("login as %s: %v", id.Subject, err)
	}
	return res
}

// endedCount reads sessionbridge_sessions_ended_total for reason.
func (e *env) endedCount(reason lifecycle.Reason) int {
	return int(testutil.ToFloat64(e.ended.Counter().WithLabelValues("corp", string(reason))))
}

// sessionCount is how many sessions the store holds, expired or not.
func (e *env) sessionCount() int {
	e.t.Helper()
	list, err := e.store.ScanSessions(context.Background(), store.SessionFilter{}, "", 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	return len(list)
}

// metric reads one series of a login counter by name.
func (e *env) metric(name string, labels ...string) int {
	e.t.Helper()
	families, err := e.metrics.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			for i, l := range m.GetLabel() {
				if i >= len(labels) || l.GetValue() != labels[i] {
					continue series
				}
			}
			return int(m.GetCounter().GetValue())
		}
	}
	return 0
}

// wantKind fails unless err is a *bridge.Error of the given kind and type
// (any type when typ is "").
func wantKind(t *testing.T, err error, kind bridge.ErrorKind, typ string) *bridge.Error {
	t.Helper()
	var e *bridge.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *bridge.Error", err, err)
	}
	if e.Kind != kind || (typ != "" && e.Type != typ) {
		t.Fatalf("error %q: kind %d type %s, want kind %d type %s", e, e.Kind, e.Type, kind, typ)
	}
	return e
}

// flakyStore fails chosen store calls: by method name, the error to
// return, and for CompareAndSwapSession how many times (0: always).
type flakyStore struct {
	store.Store
	mu       sync.Mutex
	fail     map[string]error
	casTimes int
}

func (f *flakyStore) err(method string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fail[method]
}

func (f *flakyStore) GetSession(ctx context.Context, id string) (store.Session, error) {
	if err := f.err("GetSession"); err != nil {
		return store.Session{}, err
	}
	return f.Store.GetSession(ctx, id)
}

func (f *flakyStore) ListSessions(ctx context.Context, userID string) ([]store.Session, error) {
	if err := f.err("ListSessions"); err != nil {
		return nil, err
	}
	return f.Store.ListSessions(ctx, userID)
}

func (f *flakyStore) CreateFlow(ctx context.Context, fl store.LoginFlow) error {
	if err := f.err("CreateFlow"); err != nil {
		return err
	}
	return f.Store.CreateFlow(ctx, fl)
}

func (f *flakyStore) ConsumeFlow(ctx context.Context, id string, now time.Time) (store.LoginFlow, error) {
	if err := f.err("ConsumeFlow"); err != nil {
		return store.LoginFlow{}, err
	}
	return f.Store.ConsumeFlow(ctx, id, now)
}

func (f *flakyStore) UpsertIdentity(ctx context.Context, in store.IdentityInput, now time.Time) (store.User, error) {
	if err := f.err("UpsertIdentity"); err != nil {
		return store.User{}, err
	}
	return f.Store.UpsertIdentity(ctx, in, now)
}

func (f *flakyStore) DeleteSession(ctx context.Context, id string) error {
	if err := f.err("DeleteSession"); err != nil {
		return err
	}
	return f.Store.DeleteSession(ctx, id)
}

func (f *flakyStore) CompareAndSwapSession(ctx context.Context, s *store.Session) error {
	f.mu.Lock()
	err := f.fail["CompareAndSwapSession"]
	if err != nil && f.casTimes > 0 {
		f.casTimes--
		if f.casTimes == 0 {
			delete(f.fail, "CompareAndSwapSession")
		}
	}
	f.mu.Unlock()
	if err != nil {
		return err
	}
	return f.Store.CompareAndSwapSession(ctx, s)
}

func (f *flakyStore) set(method string, err error, times int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail == nil {
		f.fail = map[string]error{}
	}
	f.fail[method] = err
	if method == "CompareAndSwapSession" {
		f.casTimes = times
	}
}
