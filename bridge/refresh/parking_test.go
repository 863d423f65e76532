package refresh

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sessionbridge/sessionbridge/bridge/lifecycle"
	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/providers"
)

const parkedLog = "its refreshes are parked"

// misconfigurations are the answers that say the bridge's client or
// configuration is broken, not the grant.
var misconfigurations = []error{
	oauthErr("invalid_client", 401), oauthErr("unauthorized_client", 400),
	oauthErr("unsupported_grant_type", 400), oauthErr("invalid_scope", 400), oauthErr("invalid_request", 400),
	&providers.VerificationError{Check: "iss"},
}

// TestMisconfigurationParksProvider: a client or configuration error parks
// the provider instead of ending sessions: no session is touched, no
// other request is sent except one probe per period, the state is logged
// once and exposed, and a probe that succeeds resumes every grant.
func TestMisconfigurationParksProvider(t *testing.T) {
	for _, perr := range misconfigurations {
		code, _ := errorCode(perr)
		t.Run(code, func(t *testing.T) {
			h := newHarness(t, hopt{})
			h.prov.setFail(failAlways(perr))
			h.addGrant("s1", t0.Add(time.Hour), t0)
			h.tick()
			for _, id := range []string{"s2", "s3"} {
				h.addGrant(id, t0.Add(time.Hour), t0)
			}
			h.tick()
			if calls, _ := h.prov.stats(); calls != 1 {
				t.Fatalf("provider calls = %d, want 1: a parked provider gets no requests", calls)
			}
			for _, id := range []string{"s1", "s2", "s3"} {
				if h.gone(id) || h.open(h.get(id), "refresh") == "" {
					t.Fatalf("%s lost its session or tokens to a misconfiguration", id)
				}
			}
			if got := h.r.Parked(); got["fake"] != code {
				t.Fatalf("Parked() = %v, want fake: %s", got, code)
			}
			if got := testutil.ToFloat64(h.r.metrics.parked.WithLabelValues("fake")); got != 1 {
				t.Fatalf("sessionbridge_provider_misconfigured{fake} = %v", got)
			}
			if got := testutil.ToFloat64(h.endedRec.Counter().WithLabelValues("fake", string(lifecycle.RefreshRejected))); got != 0 {
				t.Fatalf("sessions ended: %v", got)
			}
			if got := h.attempts(resultMisconfigured); got != 1 {
				t.Fatalf("misconfigured attempts = %v", got)
			}

			// Later, every grant is due again: one probe goes out, fails
			// the same way, and nothing is logged again.
			h.clk.Advance(15 * time.Minute)
			h.tick()
			if calls, _ := h.prov.stats(); calls != 2 {
				t.Fatalf("provider calls after the probe period = %d, want 2 (one probe)", calls)
			}
			if n := strings.Count(h.logString(), parkedLog); n != 1 {
				t.Fatalf("parked log lines = %d, want 1 per state change", n)
			}

			// The operator fixes the client: the next probe succeeds and
			// the provider resumes; every grant is refreshed.
			h.prov.setFail(nil)
			h.clk.Advance(15 * time.Minute)
			h.tick()
			if len(h.r.Parked()) != 0 || testutil.ToFloat64(h.r.metrics.parked.WithLabelValues("fake")) != 0 {
				t.Fatalf("still parked after a successful probe: %v", h.r.Parked())
			}
			// The other grants come due within the recheck period.
			h.clk.Advance(parkedRecheck * 3 / 2)
			h.tick()
			for _, id := range []string{"s1", "s2", "s3"} {
				if got := h.open(h.get(id), "access"); strings.HasPrefix(got, "initial-") {
					t.Errorf("%s was not refreshed after the provider resumed", id)
				}
			}
			if !strings.Contains(h.logString(), "refreshes resumed") {
				t.Fatal("no log line for the resume")
			}
		})
	}
}

// TestInvalidGrantProbeResumes: an invalid_grant answer to a probe is
// about that grant, so the client works: the provider resumes and only
// that session ends.
func TestInvalidGrantProbeResumes(t *testing.T) {
	h := newHarness(t, hopt{})
	h.prov.setFail(failAlways(oauthErr("invalid_client", 401)))
	h.addGrant("s1", t0.Add(time.Hour), t0)
	h.tick()
	h.prov.setFail(failAlways(oauthErr("invalid_grant", 400)))
	h.clk.Advance(15 * time.Minute)
	h.tick()
	if len(h.r.Parked()) != 0 {
		t.Fatalf("still parked: %v", h.r.Parked())
	}
	if !h.gone("s1") {
		t.Fatal("the probe's dead grant was kept")
	}
}

// TestOnDemandRefreshOfParkedProvider: RefreshNow sends nothing for a
// parked provider and keeps the session (ErrProviderParked matches
// ErrNotConfigured, so PATCH still extends the session).
func TestOnDemandRefreshOfParkedProvider(t *testing.T) {
	h := newHarness(t, hopt{})
	h.prov.setFail(failAlways(oauthErr("invalid_client", 401)))
	h.addGrant("s1", t0.Add(time.Hour), t0)
	h.addGrant("s2", t0.Add(time.Hour), t0.Add(50*time.Minute))
	s, err := h.r.RefreshNow(context.Background(), "s1")
	if !errors.Is(err, ErrProviderParked) || !errors.Is(err, ErrNotConfigured) || s.ID != "s1" {
		t.Fatalf("RefreshNow answered by invalid_client: %v, %v", s.ID, err)
	}
	s, err = h.r.RefreshNow(context.Background(), "s2")
	if !errors.Is(err, ErrProviderParked) || s.ID != "s2" {
		t.Fatalf("RefreshNow of a parked provider: %v, %v", s.ID, err)
	}
	if calls, _ := h.prov.stats(); calls != 1 {
		t.Fatalf("provider calls = %d, want 1", calls)
	}
	if h.gone("s1") || h.gone("s2") {
		t.Fatal("a session ended")
	}
}

// setRefreshedAt records when a grant's tokens were last issued.
func (h *harness) setRefreshedAt(id string, at time.Time) {
	h.t.Helper()
	s := h.get(id)
	s.RefreshedAt = at
	if err := h.st.CompareAndSwapSession(context.Background(), &s); err != nil {
		h.t.Fatal(err)
	}
}

// TestMinRefreshInterval: a provider's minimum interval holds the
// refresher and on-demand refreshes (which answer with the current token)
// until it has passed; the token lapsing meanwhile is not counted as
// expired before its refresh.
func TestMinRefreshInterval(t *testing.T) {
	const day = 24 * time.Hour
	h := newHarness(t, hopt{mod: func(o *Options) {
		o.Limits.PerProvider = map[string]ProviderLimit{"fake": {MinInterval: day}}
	}})
	if at := h.r.ScheduleFor("fake", t0, t0.Add(time.Hour)); at.Before(t0.Add(day)) {
		t.Fatalf("a new grant is scheduled at %v, before the interval", at.Sub(t0))
	}
	h.addGrant("s1", t0.Add(time.Hour), t0.Add(55*time.Minute))
	h.setRefreshedAt("s1", t0)
	h.clk.Advance(56 * time.Minute)
	h.tick()
	if calls, _ := h.prov.stats(); calls != 0 {
		t.Fatalf("refreshed %d times within the minimum interval", calls)
	}
	if at := h.get("s1").RefreshAt; at.Before(t0.Add(day)) {
		t.Fatalf("held grant rescheduled at %v, before the interval ends", at.Sub(t0))
	}
	h.clk.Advance(2 * time.Hour) // the access token has lapsed
	before := h.get("s1")
	s, err := h.r.RefreshNow(context.Background(), "s1")
	if err != nil || !bytes.Equal(s.AccessTokenSealed, before.AccessTokenSealed) {
		t.Fatalf("RefreshNow within the interval: %v (token changed: %v)", err, !bytes.Equal(s.AccessTokenSealed, before.AccessTokenSealed))
	}
	if calls, _ := h.prov.stats(); calls != 0 {
		t.Fatalf("on-demand refresh within the interval sent %d requests", calls)
	}
	h.clk.Set(t0.Add(day + time.Second))
	h.tick()
	if calls, _ := h.prov.stats(); calls != 1 {
		t.Fatalf("provider calls after the interval = %d, want 1", calls)
	}
	after := h.get("s1")
	if !after.RefreshedAt.Equal(store.Normalize(h.now())) || after.RefreshAt.Before(h.now().Add(day)) {
		t.Fatalf("after the refresh: refreshedAt %v, next %v", after.RefreshedAt, after.RefreshAt.Sub(h.now()))
	}
	if got := testutil.ToFloat64(h.r.metrics.expired.WithLabelValues("fake")); got != 0 {
		t.Fatalf("expired_before_refresh = %v for a lapse the interval caused", got)
	}
}
