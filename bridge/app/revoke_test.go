package app

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/config"
	"github.com/sessionbridge/sessionbridge/internal/devissuer"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testissuer"
	"github.com/sessionbridge/sessionbridge/providers/oidc"
)

// refreshTokenOf reads a session's provider refresh token with the API key.
func (h *harness) refreshTokenOf(t testing.TB, value string) (userID, sessionID, refreshToken string) {
	t.Helper()
	_, s := h.api(t, "GET", "/v1/account/sessions/current", value, nil)
	userID, sessionID = s["userId"].(string), s["$id"].(string)
	req, _ := http.NewRequest("GET", h.srv.URL+"/v1/users/"+userID+"/sessions", nil)
	req.Header.Set("X-Appwrite-Key", "api-key-secret-0123456789")
	req.Header.Set("X-Appwrite-Project", "default")
	status, list := doJSON(t, req)
	if status != http.StatusOK {
		t.Fatalf("list sessions with the API key: HTTP %d", status)
	}
	for _, x := range list["sessions"].([]any) {
		m := x.(map[string]any)
		if m["$id"] == sessionID {
			return userID, sessionID, m["providerRefreshToken"].(string)
		}
	}
	t.Fatal("session not listed")
	return
}

// revokeRequests counts the revocation requests the fake provider got.
func (h *harness) revokeRequests() int {
	n := 0
	for _, r := range h.iss.Requests() {
		if r.Endpoint == "revoke" {
			n++
		}
	}
	return n
}

// settle waits for the revocations in flight to finish, so a test can
// assert that none was sent.
func (h *harness) settle(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.app.Revoker.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestSignOutRevokesTheRefreshToken(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	value, _ := h.loginSession(t)
	_, _, rt := h.refreshTokenOf(t, value)
	if !h.iss.IsLatestRefreshToken(rt) {
		t.Fatal("the session's refresh token is not live at the provider")
	}
	if status, _ := h.api(t, "DELETE", "/v1/account/sessions/current", value, nil); status != http.StatusNoContent {
		t.Fatalf("sign out: HTTP %d", status)
	}
	// The outcome is counted once the provider's answer is read.
	waitFor(t, 20*time.Second, "the revocation's outcome", func() bool {
		return h.metric(t, `sessionbridge_token_revocations_total{provider="corp",result="revoked"}`) == "1"
	})
	if n := h.iss.Stats().Revocations; n != 1 {
		t.Errorf("%d revocations at the provider, want 1", n)
	}
	if h.iss.IsLatestRefreshToken(rt) {
		t.Error("the refresh token is still live at the provider after sign-out")
	}
	if strings.Contains(h.logs.String(), rt) {
		t.Error("the refresh token reached the log")
	}
}

func TestRevocationWaitsForTheLastSessionOfTheGrant(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	first, _ := h.loginSession(t)
	second, _ := h.loginSession(t)
	if status, _ := h.api(t, "DELETE", "/v1/account/sessions/current", first, nil); status != http.StatusNoContent {
		t.Fatalf("sign out: HTTP %d", status)
	}
	waitFor(t, 20*time.Second, "the shared-grant decision", func() bool {
		return h.metric(t, `sessionbridge_token_revocations_total{provider="corp",result="shared_grant"}`) == "1"
	})
	if n := h.revokeRequests(); n != 0 {
		t.Fatalf("%d revocation requests while another session of the user holds the grant, want 0", n)
	}
	// An API key revoking the last session revokes the grant.
	userID, sessionID, _ := h.refreshTokenOf(t, second)
	req, _ := http.NewRequest("DELETE", h.srv.URL+"/v1/users/"+userID+"/sessions/"+sessionID, nil)
	req.Header.Set("X-Appwrite-Key", "api-key-secret-0123456789")
	req.Header.Set("X-Appwrite-Project", "default")
	if status, _ := doJSON(t, req); status != http.StatusNoContent {
		t.Fatalf("revoke with the API key: HTTP %d", status)
	}
	waitFor(t, 20*time.Second, "the revocation", func() bool { return h.iss.Stats().Revocations == 1 })
}

func TestRevokeTokensFalseSendsNothing(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true, mutateConf: func(c *config.Config) {
		off := false
		c.Providers["corp"].Config.(*oidc.Config).RevokeTokens = &off
	}})
	value, _ := h.loginSession(t)
	if status, _ := h.api(t, "DELETE", "/v1/account/sessions/current", value, nil); status != http.StatusNoContent {
		t.Fatalf("sign out: HTTP %d", status)
	}
	h.settle(t)
	if n := h.revokeRequests(); n != 0 {
		t.Fatalf("%d revocation requests with revoke_tokens: false", n)
	}
}

func TestRevocationRetriesTransientFailures(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true, app: Options{RevokeBackoff: []time.Duration{10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond}}})
	value, _ := h.loginSession(t)
	_, _, rt := h.refreshTokenOf(t, value)
	h.iss.SetFaults(testissuer.Faults{RevokeFailFirst: 2})
	if status, _ := h.api(t, "DELETE", "/v1/account/sessions/current", value, nil); status != http.StatusNoContent {
		t.Fatalf("sign out: HTTP %d (a failing revocation must not fail the sign-out)", status)
	}
	waitFor(t, 20*time.Second, "the revocation's outcome", func() bool {
		return h.metric(t, `sessionbridge_token_revocations_total{provider="corp",result="revoked"}`) == "1"
	})
	if n := h.revokeRequests(); n != 3 {
		t.Errorf("%d revocation requests, want 3 (two 503s, then success)", n)
	}
	if h.iss.IsLatestRefreshToken(rt) {
		t.Error("the refresh token is still live")
	}
}

func TestRevocationDoesNotRetryARefusal(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true, app: Options{RevokeBackoff: []time.Duration{10 * time.Millisecond, 10 * time.Millisecond}}})
	value, _ := h.loginSession(t)
	h.iss.SetFaults(testissuer.Faults{RevokeFailFirst: 5, RevokeStatus: http.StatusBadRequest})
	if status, _ := h.api(t, "DELETE", "/v1/account/sessions/current", value, nil); status != http.StatusNoContent {
		t.Fatalf("sign out: HTTP %d", status)
	}
	h.settle(t)
	if n := h.revokeRequests(); n != 1 {
		t.Errorf("%d revocation requests after unsupported_token_type, want 1", n)
	}
	if got := h.metric(t, `sessionbridge_token_revocations_total{provider="corp",result="failed"}`); got != "1" {
		t.Errorf("failed metric = %s, want 1", got)
	}
}

func TestBackchannelLogoutRevokesTheGrant(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	value, sub := h.loginSession(t)
	_, _, rt := h.refreshTokenOf(t, value)
	if resp, body := postLogoutToken(t, h.backchannelURL(), h.signLogout(t, devissuer.LogoutToken{Subject: sub})); resp.StatusCode != http.StatusOK {
		t.Fatalf("logout: HTTP %d %v", resp.StatusCode, body)
	}
	waitFor(t, 20*time.Second, "the revocation", func() bool { return !h.iss.IsLatestRefreshToken(rt) })
}

// doJSON sends req and decodes a JSON answer (nil when empty).
func doJSON(t testing.TB, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}
