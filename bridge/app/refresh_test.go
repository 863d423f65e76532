package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/config"
	"github.com/sessionbridge/sessionbridge/internal/devissuer"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testissuer"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestBackgroundRefreshRotatesBeforeExpiry(t *testing.T) {
	h := newHarness(t, harnessOptions{
		issuer:    devissuer.Options{AccessTokenTTL: 3 * time.Second, RotateRefreshTokens: true, DetectReuse: true},
		beforeExp: 2 * time.Second,
	})
	b := h.browser()
	h.login(t, b)
	value := h.sessionCookie(t, b)
	_, first := h.api(t, "GET", "/v1/account/sessions/current", value, nil)
	waitFor(t, 15*time.Second, "two background refreshes", func() bool { return h.iss.Stats().RefreshRequests >= 2 })
	status, now := h.api(t, "GET", "/v1/account/sessions/current", value, nil)
	if status != 200 {
		t.Fatalf("session gone after refresh: %d %v", status, now)
	}
	if now["providerAccessToken"] == first["providerAccessToken"] {
		t.Error("access token did not change")
	}
	if now["providerAccessTokenExpiry"].(string) <= first["providerAccessTokenExpiry"].(string) {
		t.Errorf("expiry did not move forward: %v -> %v", first["providerAccessTokenExpiry"], now["providerAccessTokenExpiry"])
	}
	if now["expire"] != first["expire"] {
		t.Error("a refresh changed the session's expire")
	}
	st := h.iss.Stats()
	if st.Replays != 0 || h.iss.MaxUsesOfAnyRefreshToken() != 1 {
		t.Errorf("replays=%d max uses of a refresh token=%d", st.Replays, h.iss.MaxUsesOfAnyRefreshToken())
	}
	for _, r := range h.iss.Requests() {
		if r.GrantType == "refresh_token" && r.Status != http.StatusOK {
			t.Errorf("refresh answered %d %s", r.Status, r.Error)
		}
	}
}

func TestInvalidGrantEndsSession(t *testing.T) {
	h := newHarness(t, harnessOptions{
		issuer:    devissuer.Options{AccessTokenTTL: 2 * time.Second, RotateRefreshTokens: true},
		beforeExp: time.Second,
	})
	b := h.browser()
	h.login(t, b)
	value := h.sessionCookie(t, b)
	h.iss.SetFaults(testissuer.Faults{RefreshError: "invalid_grant"})
	waitFor(t, 10*time.Second, "the refresh attempt", func() bool { return h.iss.Stats().RefreshRequests >= 1 })
	waitFor(t, 5*time.Second, "the session to end", func() bool { return h.countSessions(t) == 0 })
	if status, _ := h.api(t, "GET", "/v1/account", value, nil); status != 401 {
		t.Errorf("ended session still authenticates: %d", status)
	}
	time.Sleep(time.Second)
	if n := h.iss.Stats().RefreshRequests; n != 1 {
		t.Errorf("invalid_grant was retried: %d refresh requests", n)
	}
}

// PATCH refreshes first and slides expire only when the refresh worked: a
// provider outage answers 503 and leaves the session exactly as it was.
func TestPatchDuringProviderOutageChangesNothing(t *testing.T) {
	h := newHarness(t, harnessOptions{issuer: devissuer.Options{RotateRefreshTokens: true, DetectReuse: true}, noRefresh: true})
	b := h.browser()
	h.login(t, b)
	value := h.sessionCookie(t, b)
	_, before := h.api(t, "GET", "/v1/account/sessions/current", value, nil)

	h.iss.SetFaults(testissuer.Faults{RefreshStatus: http.StatusServiceUnavailable})
	time.Sleep(1100 * time.Millisecond) // a slide would move expire by at least a second
	status, body := h.api(t, "PATCH", "/v1/account/sessions/current", value, nil)
	if status != http.StatusServiceUnavailable || body["type"] != "user_oauth2_provider_error" {
		t.Fatalf("PATCH during an outage: %d %v", status, body)
	}
	_, during := h.api(t, "GET", "/v1/account/sessions/current", value, nil)
	for _, k := range []string{"expire", "providerAccessToken", "providerRefreshToken", "providerAccessTokenExpiry"} {
		if during[k] != before[k] {
			t.Errorf("a failed PATCH changed %s", k)
		}
	}

	h.iss.SetFaults(testissuer.Faults{})
	status, after := h.api(t, "PATCH", "/v1/account/sessions/current", value, nil)
	if status != 200 {
		t.Fatalf("PATCH after the outage: %d %v", status, after)
	}
	if after["expire"].(string) <= before["expire"].(string) || after["providerAccessToken"] == before["providerAccessToken"] {
		t.Errorf("PATCH did not slide and refresh: expire %v -> %v", before["expire"], after["expire"])
	}
	if st := h.iss.Stats(); st.Replays != 0 || st.RefreshRequests != 2 {
		t.Errorf("refresh requests = %d (want 2), replays = %d", st.RefreshRequests, st.Replays)
	}
}

// With refresh.on_failure: keep_session, a PATCH whose refresh the provider
// rejects keeps the session, clears its provider tokens and says so (401);
// with end_session the session is gone (404).
func TestPatchWhenTheGrantIsRejected(t *testing.T) {
	for _, tc := range []struct {
		onFailure  string
		wantStatus int
	}{{"keep_session", 401}, {"end_session", 404}} {
		t.Run(tc.onFailure, func(t *testing.T) {
			h := newHarness(t, harnessOptions{noRefresh: true, mutateConf: func(c *config.Config) { c.Refresh.OnFailure = tc.onFailure }})
			b := h.browser()
			h.login(t, b)
			value := h.sessionCookie(t, b)
			h.iss.SetFaults(testissuer.Faults{RefreshError: "invalid_grant"})
			status, body := h.api(t, "PATCH", "/v1/account/sessions/current", value, nil)
			if status != tc.wantStatus {
				t.Fatalf("PATCH: %d %v", status, body)
			}
			status, s := h.api(t, "GET", "/v1/account/sessions/current", value, nil)
			switch tc.onFailure {
			case "keep_session":
				if status != 200 || s["providerAccessToken"] != "" || s["providerRefreshToken"] != "" {
					t.Fatalf("kept session: %d %v", status, s)
				}
			default:
				if status != 401 {
					t.Fatalf("ended session still authenticates: %d", status)
				}
			}
		})
	}
}

// A PATCH that finds the grant leased by a process that died waits at most
// refresh.timeout + 5s, answers 504 without touching the session, and the
// refresh goes on detached: once the dead lease runs out, it is done.
func TestPatchWaitIsBounded(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true, issuer: devissuer.Options{RotateRefreshTokens: true, DetectReuse: true},
		mutateConf: func(c *config.Config) { c.Refresh.Timeout = time.Second }})
	b := h.browser()
	h.login(t, b)
	value := h.sessionCookie(t, b)
	_, before := h.api(t, "GET", "/v1/account/sessions/current", value, nil)
	id := before["$id"].(string)

	ctx := context.Background()
	// The dead process's lease: the bounded wait (6s) ends well before it does.
	if _, err := h.app.Store.ClaimGrant(ctx, id, "dead-process", time.Now(), 9*time.Second); err != nil {
		t.Fatal(err)
	}
	status, body := h.api(t, "PATCH", "/v1/account/sessions/current", value, nil)
	if status != http.StatusGatewayTimeout {
		t.Fatalf("PATCH while a dead process holds the lease: %d %v", status, body)
	}
	_, during := h.api(t, "GET", "/v1/account/sessions/current", value, nil)
	if during["expire"] != before["expire"] || during["providerAccessToken"] != before["providerAccessToken"] {
		t.Error("a PATCH that gave up changed the session")
	}
	waitFor(t, 20*time.Second, "the detached refresh after the dead lease ran out", func() bool {
		_, now := h.api(t, "GET", "/v1/account/sessions/current", value, nil)
		return now["providerAccessToken"] != before["providerAccessToken"]
	})
	if st := h.iss.Stats(); st.RefreshRequests != 1 || st.Replays != 0 {
		t.Errorf("refresh requests = %d (want 1), replays = %d", st.RefreshRequests, st.Replays)
	}
}

// A session whose provider has left the configuration can no longer be
// refreshed, but PATCH still extends it (200) instead of answering "try
// again" forever, and sends nothing to any provider.
func TestPatchWhenTheProviderIsGone(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	b := h.browser()
	h.login(t, b)
	value := h.sessionCookie(t, b)
	_, before := h.api(t, "GET", "/v1/account/sessions/current", value, nil)

	// A second instance on the same store, configured without "corp".
	cfg := *h.cfg
	cfg.Providers = map[string]config.Provider{"other": h.cfg.Providers["corp"]}
	cfg.ProviderOrder = []string{"other"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a2, err := Build(ctx, &cfg, slog.New(slog.DiscardHandler), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a2.Close()
	srv2 := httptest.NewServer(a2.Handler)
	defer srv2.Close()

	time.Sleep(1100 * time.Millisecond) // so that a slide moves expire by a second
	req, _ := http.NewRequest("PATCH", srv2.URL+"/v1/account/sessions/current", nil)
	req.Header.Set("X-Appwrite-Session", value)
	req.Header.Set("X-Appwrite-Project", "default")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var after map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&after)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PATCH: %d %v", resp.StatusCode, after)
	}
	if after["expire"].(string) <= before["expire"].(string) || after["providerAccessToken"] != before["providerAccessToken"] {
		t.Errorf("want a slide without a refresh: expire %v -> %v", before["expire"], after["expire"])
	}
	if n := h.iss.Stats().RefreshRequests; n != 0 {
		t.Errorf("%d refresh requests", n)
	}
}

// TestMisconfiguredClientKeepsSessions: the provider answers a refresh
// with invalid_client (an expired client secret), or a refreshed ID token
// fails the iss check (an edited issuer): the session stays, PATCH still
// extends it, and /readyz and /metrics say which provider to fix.
func TestMisconfiguredClientKeepsSessions(t *testing.T) {
	for name, faults := range map[string]testissuer.Faults{
		"invalid_client": {RefreshError: "invalid_client"},
		"wrong issuer":   {WrongIssuer: true},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{noRefresh: true})
			b := h.browser()
			h.login(t, b)
			value := h.sessionCookie(t, b)
			_, before := h.api(t, "GET", "/v1/account/sessions/current", value, nil)
			h.iss.SetFaults(faults)
			status, after := h.api(t, "PATCH", "/v1/account/sessions/current", value, nil)
			if status != http.StatusOK || after["providerAccessToken"] != before["providerAccessToken"] {
				t.Fatalf("PATCH against a misconfigured client: %d %v", status, after)
			}
			if status, _ := h.api(t, "GET", "/v1/account", value, nil); status != 200 {
				t.Fatalf("the session ended: %d", status)
			}
			r := send(t, h.request("GET", "/readyz", nil))
			detail, _ := r.json["providers_misconfigured"].(map[string]any)
			if r.StatusCode != 200 || detail["corp"] == nil {
				t.Fatalf("/readyz = %d %v", r.StatusCode, r.json)
			}
			m := send(t, h.request("GET", "/metrics", nil))
			if !strings.Contains(string(m.body), `sessionbridge_provider_misconfigured{provider="corp"} 1`) {
				t.Fatal("metrics lack sessionbridge_provider_misconfigured{provider=\"corp\"} 1")
			}
			if h.countSessions(t) != 1 {
				t.Fatal("the session row is gone")
			}
		})
	}
}

// TestMinRefreshIntervalDefaults: Apple's preset waits a day between
// refreshes of a grant; a provider's own key wins, 0s turns it off.
func TestMinRefreshIntervalDefaults(t *testing.T) {
	zero, hour := time.Duration(0), time.Hour
	for _, c := range []struct {
		p    config.Provider
		want time.Duration
	}{
		{config.Provider{Type: "apple"}, 24 * time.Hour},
		{config.Provider{Type: "apple", MinRefreshInterval: &zero}, 0},
		{config.Provider{Type: "oidc", MinRefreshInterval: &hour}, time.Hour},
		{config.Provider{Type: "github"}, 0},
	} {
		if got := minRefreshInterval(c.p); got != c.want {
			t.Errorf("%s (%v): %v, want %v", c.p.Type, c.p.MinRefreshInterval, got, c.want)
		}
	}
}
