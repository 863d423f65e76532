package refresh

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sessionbridge/sessionbridge/bridge/lifecycle"
	"github.com/sessionbridge/sessionbridge/bridge/seal"
	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/providers"
)

func TestRotationStored(t *testing.T) {
	forKinds(t, func(t *testing.T, kind string) {
		h := newHarness(t, hopt{kind: kind})
		h.addGrant("s1", t0.Add(4*time.Minute), t0)
		before := h.get("s1")
		h.tick()

		s := h.get("s1")
		if calls, _ := h.prov.stats(); calls != 1 {
			t.Fatalf("provider calls = %d, want 1", calls)
		}
		rt, at := h.open(s, "refresh"), h.open(s, "access")
		if _, live := h.prov.valid[rt]; !live || rt == h.open(before, "refresh") {
			t.Fatalf("stored refresh token %q is not the rotated one", rt)
		}
		if !strings.HasPrefix(at, "fake-at-") {
			t.Fatalf("stored access token %q is not the new one", at)
		}
		wantExpiry := store.Normalize(t0.Add(time.Hour))
		wantNext := store.Normalize(Schedule(t0, t0.Add(time.Hour), DefaultBeforeExpiry, h.r.jitter))
		switch {
		case !s.AccessTokenExpiry.Equal(wantExpiry):
			t.Errorf("AccessTokenExpiry = %v, want %v", s.AccessTokenExpiry, wantExpiry)
		case !s.RefreshAt.Equal(wantNext):
			t.Errorf("RefreshAt = %v, want %v", s.RefreshAt, wantNext)
		case s.LeaseOwner != "" || !s.LeaseUntil.IsZero():
			t.Errorf("lease left behind: %q %v", s.LeaseOwner, s.LeaseUntil)
		case s.RefreshFailures != 0:
			t.Errorf("RefreshFailures = %d", s.RefreshFailures)
		case !s.Expire.Equal(before.Expire):
			t.Errorf("Expire moved from %v to %v: a refresh must never extend a session", before.Expire, s.Expire)
		case !s.UpdatedAt.Equal(store.Normalize(t0)):
			t.Errorf("UpdatedAt = %v", s.UpdatedAt)
		}
		if got := h.attempts(resultSuccess); got != 1 {
			t.Errorf("success attempts = %v", got)
		}
		// Nothing else is due: another tick sends nothing.
		h.tick()
		if calls, _ := h.prov.stats(); calls != 1 {
			t.Fatalf("provider calls after second tick = %d", calls)
		}
	})
}

// Only invalid_grant ends a session (the other permanent answers park the
// provider: parking_test.go).
func TestPermanentErrorEndsSession(t *testing.T) {
	for _, perr := range []error{oauthErr("invalid_grant", 400)} {
		code, _ := errorCode(perr)
		t.Run(code, func(t *testing.T) {
			h := newHarness(t, hopt{})
			h.addGrant("s1", t0.Add(time.Minute), t0)
			h.addGrant("other", t0.Add(time.Hour), t0.Add(50*time.Minute))
			h.prov.setFail(failAlways(perr))
			h.tick()
			if !h.gone("s1") {
				t.Fatal("session still exists after a permanent refresh error")
			}
			if h.gone("other") {
				t.Fatal("an unrelated session was removed")
			}
			if got := testutil.ToFloat64(h.endedRec.Counter().WithLabelValues("fake", string(lifecycle.RefreshRejected))); got != 1 {
				t.Fatalf("sessions_ended_total{reason=refresh_rejected} (%s) = %v", code, got)
			}
			if got := h.attempts(resultPermanent); got != 1 {
				t.Fatalf("permanent attempts = %v", got)
			}
			h.clk.Advance(time.Hour)
			h.tick() // "other" is due now; s1 must not be retried
			if calls, _ := h.prov.stats(); calls != 2 {
				t.Fatalf("provider calls = %d, want 2 (no retry of the dead grant)", calls)
			}
			if logs := h.logString(); strings.Contains(logs, "fake-rt-") || strings.Contains(logs, "at-s1") {
				t.Fatalf("a token reached the log:\n%s", logs)
			}
		})
	}
}

func TestInvalidGrantKeepSession(t *testing.T) {
	forKinds(t, func(t *testing.T, kind string) {
		h := newHarness(t, hopt{kind: kind, mod: func(o *Options) { o.OnFailure = KeepSession }})
		h.addGrant("s1", t0.Add(time.Minute), t0)
		h.prov.setFail(failAlways(oauthErr("invalid_grant", 400)))
		h.tick()
		s := h.get("s1")
		if len(s.AccessTokenSealed) != 0 || len(s.RefreshTokenSealed) != 0 {
			t.Fatal("tokens not cleared")
		}
		if !s.AccessTokenExpiry.IsZero() || !s.RefreshAt.IsZero() || s.LeaseOwner != "" || !s.LeaseUntil.IsZero() {
			t.Fatalf("grant fields not cleared: %+v", s)
		}
		if h.gone("s1") {
			t.Fatal("the session was deleted with keep_session")
		}
		if _, ok, _ := h.st.NextRefreshAt(context.Background()); ok {
			t.Fatal("a grant is still scheduled")
		}
	})
}

// A refresh token rejected because another refresher already rotated it
// (so the row holds a newer one) must not end the session.
func TestInvalidGrantAfterRotationElsewhereKeepsSession(t *testing.T) {
	forKinds(t, func(t *testing.T, kind string) {
		h := newHarness(t, hopt{kind: kind})
		h.addGrant("s1", t0.Add(time.Minute), t0)
		var newer string
		h.prov.setFail(func(n int, rt string) error {
			// Meanwhile another process rotated the grant and stored it.
			s := h.get("s1")
			newer = h.prov.issue("sub-s1")
			s.RefreshTokenSealed, _ = h.keys.Seal(newer, seal.AAD("s1", "refresh"))
			s.LeaseOwner, s.LeaseUntil, s.RefreshAt = "", time.Time{}, t0.Add(time.Hour)
			if err := h.st.CompareAndSwapSession(context.Background(), &s); err != nil {
				t.Errorf("other process write: %v", err)
			}
			return oauthErr("invalid_grant", 400)
		})
		h.tick()
		s := h.get("s1")
		if got := h.open(s, "refresh"); got != newer {
			t.Fatalf("refresh token = %q, want the other process's %q", got, newer)
		}
		if h.gone("s1") || h.endedCount() != 0 || h.attempts(resultConflict) != 1 {
			t.Fatalf("gone=%v ended=%v conflict=%v", h.gone("s1"), h.endedCount(), h.attempts(resultConflict))
		}
	})
}

func TestTransientRetryAfter(t *testing.T) {
	for name, header := range map[string]string{
		"seconds":   "120",
		"http-date": t0.Add(120 * time.Second).Format(http.TimeFormat),
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, hopt{})
			h.addGrant("s1", t0.Add(3*time.Minute), t0)
			h.prov.setFail(func(n int, _ string) error {
				if n == 1 {
					return &providers.OAuthError{Code: "temporarily_unavailable", HTTPStatus: 503,
						RetryAfter: providers.ParseRetryAfter(header, h.clk.Now())}
				}
				return nil
			})
			h.tick()
			s := h.get("s1")
			if !s.RefreshAt.Equal(t0.Add(120*time.Second)) || s.RefreshFailures != 1 || s.LeaseOwner != "" {
				t.Fatalf("after 503: RefreshAt=%v failures=%d lease=%q", s.RefreshAt.Sub(t0), s.RefreshFailures, s.LeaseOwner)
			}
			if h.open(s, "access") != "initial-at-s1" {
				t.Fatal("the still-valid access token was dropped")
			}
			h.clk.Set(t0.Add(119 * time.Second))
			h.tick()
			if c := h.prov.callCount(); c != 1 {
				t.Fatalf("requests before Retry-After elapsed: %d, want 1", c)
			}
			h.clk.Set(t0.Add(120 * time.Second))
			h.tick()
			if c := h.prov.callCount(); c != 2 {
				t.Fatalf("requests = %d, want exactly 2", c)
			}
			if s := h.get("s1"); s.RefreshFailures != 0 || h.open(s, "access") == "initial-at-s1" {
				t.Fatalf("retry did not succeed: %+v", s)
			}
			if h.attempts(resultTransient) != 1 || h.attempts(resultSuccess) != 1 {
				t.Fatal("attempt metrics did not move")
			}
		})
	}
}

// Server errors back off exponentially (full jitter, capped at 5m), keep
// retrying past the access token's expiry, and never drop the session.
func TestServerErrorBackoff(t *testing.T) {
	h := newHarness(t, hopt{mod: func(o *Options) {
		o.Jitter = func(max time.Duration) time.Duration { return max - 1 } // the top of each range
		o.Breaker.Threshold = 1000
	}})
	h.addGrant("s1", t0.Add(2*time.Minute), t0)
	h.prov.setFail(failAlways(oauthErr("", 502)))
	for i := range 12 {
		now := h.clk.Now()
		h.tick()
		s := h.get("s1")
		want := min(5*time.Minute, time.Second<<i) - 1
		if got := s.RefreshAt.Sub(now); got != want.Truncate(time.Microsecond) || s.RefreshFailures != i+1 {
			t.Fatalf("failure %d: retry in %v (failures %d), want %v", i+1, got, s.RefreshFailures, want)
		}
		h.clk.Set(s.RefreshAt)
	}
	if c := h.prov.callCount(); c != 12 {
		t.Fatalf("requests = %d, want 12", c)
	}
	// The access token expired long ago; the next success counts it.
	h.prov.setFail(nil)
	h.tick()
	if got := testutil.ToFloat64(h.r.metrics.expired.WithLabelValues("fake")); got != 1 {
		t.Fatalf("expired_before_refresh_total = %v, want 1", got)
	}
}

func TestTransientKinds(t *testing.T) {
	for name, fn := range map[string]func(n int) (*providers.Token, error){
		"429":          func(int) (*providers.Token, error) { return nil, oauthErr("", 429) },
		"server_error": func(int) (*providers.Token, error) { return nil, oauthErr("server_error", 500) },
		"network": func(int) (*providers.Token, error) {
			return nil, &providers.OAuthError{Err: errors.New("connection refused")}
		},
		"timeout":                 func(int) (*providers.Token, error) { return nil, context.DeadlineExceeded },
		"missing access_token":    func(int) (*providers.Token, error) { return &providers.Token{RefreshToken: "x"}, nil },
		"nil token without error": func(int) (*providers.Token, error) { return nil, nil },
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, hopt{})
			fp := &funcProvider{fakeProvider: newFakeProvider("fake", h.now), fn: fn}
			h.r.providers = providers.Registry{"fake": fp}
			h.addGrant("s1", t0.Add(time.Minute), t0)
			h.tick()
			s := h.get("s1")
			if s.RefreshFailures != 1 || h.open(s, "access") != "initial-at-s1" || s.RefreshAt.IsZero() || s.LeaseOwner != "" {
				t.Fatalf("not handled as transient: %+v", s)
			}
			if h.attempts(resultTransient) != 1 {
				t.Fatal("transient not counted")
			}
		})
	}
}

func TestNoExpiryStopsProactiveRefresh(t *testing.T) {
	forKinds(t, func(t *testing.T, kind string) {
		h := newHarness(t, hopt{kind: kind})
		h.prov.ttl = 0
		h.addGrant("s1", t0.Add(time.Minute), t0)
		h.tick()
		s := h.get("s1")
		if !s.AccessTokenExpiry.IsZero() || !s.RefreshAt.IsZero() {
			t.Fatalf("AccessTokenExpiry=%v RefreshAt=%v, want both zero", s.AccessTokenExpiry, s.RefreshAt)
		}
		h.clk.Advance(100 * time.Hour)
		h.tick()
		if c := h.prov.callCount(); c != 1 {
			t.Fatalf("requests = %d, want 1", c)
		}
	})
}

func TestNoNewRefreshTokenKeepsOld(t *testing.T) {
	h := newHarness(t, hopt{})
	h.prov.rotate = false
	h.addGrant("s1", t0.Add(time.Minute), t0)
	old := h.open(h.get("s1"), "refresh")
	h.tick()
	s := h.get("s1")
	if got := h.open(s, "refresh"); got != old {
		t.Fatalf("refresh token = %q, want the old %q", got, old)
	}
	h.clk.Set(s.RefreshAt)
	h.tick()
	if calls, replays := h.prov.stats(); calls != 2 || replays != 0 {
		t.Fatalf("calls=%d replays=%d", calls, replays)
	}
}

func TestResultDroppedWhenSessionChanges(t *testing.T) {
	for name, meddle := range map[string]func(h *harness){
		"deleted": func(h *harness) { _ = h.st.DeleteSession(context.Background(), "s1") },
		"revoked": func(h *harness) {
			s := h.get("s1")
			s.AccessTokenSealed, s.RefreshTokenSealed, s.LeaseOwner, s.LeaseUntil, s.RefreshAt = nil, nil, "", time.Time{}, time.Time{}
			_ = h.st.CompareAndSwapSession(context.Background(), &s)
		},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, hopt{})
			h.addGrant("s1", t0.Add(time.Minute), t0)
			h.prov.setFail(func(int, string) error { meddle(h); return nil })
			h.tick()
			if h.attempts(resultConflict) != 1 || h.prov.callCount() != 1 {
				t.Fatalf("conflict=%v calls=%d", h.attempts(resultConflict), h.prov.callCount())
			}
			if name == "revoked" {
				if s := h.get("s1"); len(s.RefreshTokenSealed) != 0 {
					t.Fatal("the revoked session got its tokens back")
				}
			}
		})
	}
}

// A write that only raced an unrelated change (PATCH sliding Expire) is
// re-applied to the fresh row: the rotated token must not be lost.
func TestWriteMergesUnrelatedChange(t *testing.T) {
	forKinds(t, func(t *testing.T, kind string) {
		h := newHarness(t, hopt{kind: kind})
		h.addGrant("s1", t0.Add(time.Minute), t0)
		slid := store.Normalize(t0.Add(900 * 24 * time.Hour))
		h.prov.setFail(func(int, string) error {
			s := h.get("s1")
			s.Expire = slid
			if err := h.st.CompareAndSwapSession(context.Background(), &s); err != nil {
				t.Errorf("slide: %v", err)
			}
			return nil
		})
		h.tick()
		s := h.get("s1")
		if !s.Expire.Equal(slid) {
			t.Fatalf("Expire = %v, the slide was lost", s.Expire)
		}
		if _, live := h.prov.valid[h.open(s, "refresh")]; !live {
			t.Fatal("the rotated refresh token was lost")
		}
		if h.attempts(resultSuccess) != 1 {
			t.Fatal("not counted as success")
		}
	})
}

func TestShortLeaseIsReleasedWithoutRequest(t *testing.T) {
	h := newHarness(t, hopt{})
	h.addGrant("s1", t0.Add(time.Minute), t0)
	claimed, err := h.st.ClaimDueGrants(context.Background(), h.r.owner, t0, h.r.timeout/2, 1)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v %d", err, len(claimed))
	}
	h.r.refreshGrant(context.Background(), job{s: claimed[0]})
	s := h.get("s1")
	if h.prov.callCount() != 0 {
		t.Fatal("a request was sent on a lease shorter than the timeout")
	}
	if s.LeaseOwner != "" || !s.RefreshAt.Equal(t0) {
		t.Fatalf("not released: owner=%q RefreshAt=%v", s.LeaseOwner, s.RefreshAt)
	}
}

func TestSkipsWithoutRequest(t *testing.T) {
	h := newHarness(t, hopt{})
	h.addGrant("expired-session", t0.Add(time.Minute), t0)
	s := h.get("expired-session")
	s.Expire = t0
	if err := h.st.CompareAndSwapSession(context.Background(), &s); err != nil {
		t.Fatal(err)
	}
	h.addGrant("unknown-provider", t0.Add(time.Minute), t0)
	h.r.providers = providers.Registry{"fake": h.prov, "gone": h.prov}
	delete(h.r.providers, "fake")
	h.tick()
	if h.prov.callCount() != 0 {
		t.Fatal("request sent")
	}
	if s := h.get("expired-session"); !s.RefreshAt.IsZero() || s.LeaseOwner != "" {
		t.Fatalf("expired session still scheduled: %+v", s)
	}
	if s := h.get("unknown-provider"); s.RefreshAt.Before(t0.Add(configRetry)) || s.RefreshFailures != 1 || s.LeaseOwner != "" {
		t.Fatalf("grant of an unconfigured provider not parked for configRetry: %+v", s)
	}
}

func TestCircuitBreaker(t *testing.T) {
	h := newHarness(t, hopt{mod: func(o *Options) { o.Limits.ProviderConcurrency = 1 }})
	for _, id := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"} {
		h.addGrant(id, t0.Add(time.Hour), t0)
	}
	h.prov.setFail(failAlways(oauthErr("", 503)))
	h.tick()
	if c := h.prov.callCount(); c != DefaultBreakerThreshold {
		t.Fatalf("requests = %d, want %d before the circuit opens", c, DefaultBreakerThreshold)
	}
	if got := testutil.ToFloat64(h.r.metrics.circuit.WithLabelValues("fake")); got != 1 {
		t.Fatalf("circuit_open = %v", got)
	}
	if h.attempts(resultSkipped) != 5 || h.attempts(resultTransient) != 5 {
		t.Fatalf("skipped=%v transient=%v", h.attempts(resultSkipped), h.attempts(resultTransient))
	}
	for _, id := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"} {
		s := h.get(id)
		if s.LeaseOwner != "" {
			t.Fatalf("%s still leased", id)
		}
		if s.RefreshFailures == 0 && (s.RefreshAt.Before(t0.Add(DefaultBreakerCooldown)) || s.RefreshAt.After(t0.Add(DefaultBreakerCooldown+5*time.Second))) {
			t.Fatalf("%s skipped but rescheduled to %v, want at the reopen time", id, s.RefreshAt.Sub(t0))
		}
	}
	// Failed grants come due again while the circuit is open: no request.
	h.clk.Set(t0.Add(10 * time.Second))
	h.tick()
	if c := h.prov.callCount(); c != 5 {
		t.Fatalf("requests while open = %d", c)
	}
	// After the cooldown a probe succeeds and the circuit closes.
	h.prov.setFail(nil)
	h.clk.Set(t0.Add(DefaultBreakerCooldown + time.Minute))
	h.tick()
	if c := h.prov.callCount(); c != 15 {
		t.Fatalf("requests after cooldown = %d, want 15", c)
	}
	if got := testutil.ToFloat64(h.r.metrics.circuit.WithLabelValues("fake")); got != 0 {
		t.Fatalf("circuit_open = %v after recovery", got)
	}
}

func TestMetrics(t *testing.T) {
	h := newHarness(t, hopt{})
	h.addGrant("late", t0.Add(-10*time.Second), t0.Add(-time.Minute))
	h.addGrant("due", t0.Add(5*time.Minute), t0)
	h.addGrant("later", t0.Add(time.Hour), t0.Add(55*time.Minute))
	h.tick()
	checks := map[string]float64{
		"grants_due":             testutil.ToFloat64(h.r.metrics.due),
		"grants_overdue":         testutil.ToFloat64(h.r.metrics.overdue),
		"success":                h.attempts(resultSuccess),
		"expired_before_refresh": testutil.ToFloat64(h.r.metrics.expired.WithLabelValues("fake")),
		"in_flight":              testutil.ToFloat64(h.r.metrics.inflight),
	}
	want := map[string]float64{"grants_due": 2, "grants_overdue": 1, "success": 2, "expired_before_refresh": 1, "in_flight": 0}
	for k, v := range want {
		if checks[k] != v {
			t.Errorf("%s = %v, want %v", k, checks[k], v)
		}
	}
	if n := testutil.CollectAndCount(h.r.metrics.lead); n != 1 {
		t.Errorf("lead time histogram series = %d", n)
	}
	families, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "sessionbridge_") {
			t.Errorf("metric %s lacks the sessionbridge_ prefix", f.GetName())
		}
		names[f.GetName()] = true
	}
	for _, n := range []string{"sessionbridge_refresh_attempts_total", "sessionbridge_token_request_duration_seconds",
		"sessionbridge_refresh_lead_time_seconds", "sessionbridge_grants_due", "sessionbridge_expired_before_refresh_total"} {
		if !names[n] {
			t.Errorf("metric %s not registered", n)
		}
	}
	if err := testutil.GatherAndCompare(h.reg, strings.NewReader(`
# HELP sessionbridge_refresh_lead_time_seconds Time left before the access token expires when its refresh is sent (0 when already expired).
# TYPE sessionbridge_refresh_lead_time_seconds histogram
sessionbridge_refresh_lead_time_seconds_bucket{le="0"} 1
sessionbridge_refresh_lead_time_seconds_bucket{le="1"} 1
sessionbridge_refresh_lead_time_seconds_bucket{le="5"} 1
sessionbridge_refresh_lead_time_seconds_bucket{le="15"} 1
sessionbridge_refresh_lead_time_seconds_bucket{le="30"} 1
sessionbridge_refresh_lead_time_seconds_bucket{le="60"} 1
sessionbridge_refresh_lead_time_seconds_bucket{le="120"} 1
sessionbridge_refresh_lead_time_seconds_bucket{le="300"} 2
sessionbridge_refresh_lead_time_seconds_bucket{le="600"} 2
sessionbridge_refresh_lead_time_seconds_bucket{le="1800"} 2
sessionbridge_refresh_lead_time_seconds_bucket{le="3600"} 2
sessionbridge_refresh_lead_time_seconds_bucket{le="+Inf"} 2
sessionbridge_refresh_lead_time_seconds_sum 300
sessionbridge_refresh_lead_time_seconds_count 2
`), "sessionbridge_refresh_lead_time_seconds"); err != nil {
		t.Error(err)
	}
}

// A refresh token sealed with a key the configuration no longer has cannot
// be sent: no request, the session is kept (the key may be restored), and
// the grant is looked at again only after configRetry.
func TestUnopenableTokenParked(t *testing.T) {
	h := newHarness(t, hopt{})
	h.addGrant("s1", t0.Add(time.Minute), t0)
	other, err := seal.New([][]byte{bytes.Repeat([]byte{9}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	s := h.get("s1")
	if s.RefreshTokenSealed, err = other.Seal("rt-under-a-dropped-key", seal.AAD("s1", "refresh")); err != nil {
		t.Fatal(err)
	}
	if err := h.st.CompareAndSwapSession(context.Background(), &s); err != nil {
		t.Fatal(err)
	}
	h.tick()
	if h.prov.callCount() != 0 {
		t.Fatal("a request was sent")
	}
	got := h.get("s1")
	if got.RefreshAt.Before(t0.Add(configRetry)) || got.RefreshFailures != 1 || got.LeaseOwner != "" {
		t.Fatalf("grant not parked for configRetry: %+v", got)
	}
	if !strings.Contains(h.logString(), "cannot be opened") || strings.Contains(h.logString(), "rt-under-a-dropped-key") {
		t.Fatalf("log:\n%s", h.logString())
	}
}
