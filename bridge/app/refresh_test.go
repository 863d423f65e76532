package app

import (
	"net/http"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/providers/devissuer"
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
	h.iss.SetFaults(devissuer.Faults{RefreshError: "invalid_grant"})
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
