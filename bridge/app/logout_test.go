package app

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/config"
	"github.com/sessionbridge/sessionbridge/internal/devissuer"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testpg"
)

// backchannelURL is the back-channel logout route of provider corp.
func (h *harness) backchannelURL() string {
	return h.srv.URL + "/v1/account/sessions/oauth2/backchannel/corp/default"
}

// postLogoutToken POSTs a logout token as a provider does and returns
// the answer with its decoded body (nil when empty).
func postLogoutToken(t testing.TB, endpoint, token string) (*http.Response, map[string]string) {
	t.Helper()
	resp, err := http.PostForm(endpoint, url.Values{"logout_token": {token}})
	if err != nil {
		t.Fatalf("POST logout token: %v", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var body map[string]string
	if len(data) > 0 {
		if err := json.Unmarshal(data, &body); err != nil {
			t.Fatalf("logout answer HTTP %d is not JSON: %.200s", resp.StatusCode, data)
		}
	}
	return resp, body
}

// signLogout signs a logout token at the harness's fake provider.
func (h *harness) signLogout(t testing.TB, lt devissuer.LogoutToken) string {
	t.Helper()
	tok, err := h.iss.SignLogoutToken(lt)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// loginSession logs a new browser in and returns its session value and
// the user's subject at the provider.
func (h *harness) loginSession(t testing.TB) (value, sub string) {
	t.Helper()
	b := h.browser()
	h.login(t, b)
	value = h.sessionCookie(t, b)
	status, s := h.api(t, "GET", "/v1/account/sessions/current", value, nil)
	if status != http.StatusOK {
		t.Fatalf("GET current session: HTTP %d", status)
	}
	return value, s["providerUid"].(string)
}

// alive reports whether a session value still authenticates.
func (h *harness) alive(t testing.TB, value string) bool {
	t.Helper()
	status, _ := h.api(t, "GET", "/v1/account", value, nil)
	return status == http.StatusOK
}

// metric returns one sample of the harness's /metrics, 0 when absent.
func (h *harness) metric(t testing.TB, series string) string {
	t.Helper()
	resp, err := http.Get(h.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return v
		}
	}
	return "0"
}

func TestBackchannelLogoutBySidEndsOnlyThatProviderSession(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	first, sub := h.loginSession(t)
	second, _ := h.loginSession(t)
	sids := h.iss.SessionIDs(sub)
	if len(sids) != 2 {
		t.Fatalf("provider sessions of %s: %v, want 2", sub, sids)
	}
	tok := h.signLogout(t, devissuer.LogoutToken{SID: sids[0]})
	resp, body := postLogoutToken(t, h.backchannelURL(), tok)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("logout by sid: HTTP %d %v", resp.StatusCode, body)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	if len(resp.Cookies()) != 0 {
		t.Errorf("the logout answer sets cookies: %v", resp.Cookies())
	}
	if h.alive(t, first) {
		t.Error("the session of the logged-out provider session still authenticates")
	}
	if !h.alive(t, second) {
		t.Error("a session of another provider session was ended too")
	}
	if got := h.metric(t, `sessionbridge_sessions_ended_total{provider="corp",reason="backchannel_logout"}`); got != "1" {
		t.Errorf("sessions ended by back-channel logout = %s, want 1", got)
	}
	if logs := h.logs.String(); strings.Contains(logs, tok) || strings.Count(logs, "msg=\"back-channel logout\"") != 1 {
		t.Error("the log does not have the one logout line, or has the token")
	}
}

func TestBackchannelLogoutBySubEndsEverySessionOfTheUser(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	first, sub := h.loginSession(t)
	second, _ := h.loginSession(t)
	resp, body := postLogoutToken(t, h.backchannelURL(), h.signLogout(t, devissuer.LogoutToken{Subject: sub}))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("logout by sub: HTTP %d %v", resp.StatusCode, body)
	}
	if h.alive(t, first) || h.alive(t, second) {
		t.Error("a session of the logged-out user still authenticates")
	}
	if n := h.countSessions(t); n != 0 {
		t.Errorf("%d sessions left in the store, want 0", n)
	}
}

func TestBackchannelLogoutSidAndSubMustBothMatch(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	value, sub := h.loginSession(t)
	sid := h.iss.SessionIDs(sub)[0]
	resp, _ := postLogoutToken(t, h.backchannelURL(), h.signLogout(t, devissuer.LogoutToken{Subject: "someone-else", SID: sid}))
	if resp.StatusCode != http.StatusOK || !h.alive(t, value) {
		t.Fatalf("a token naming this sid with another sub: HTTP %d, session alive %v; want 200 and alive", resp.StatusCode, h.alive(t, value))
	}
	resp, _ = postLogoutToken(t, h.backchannelURL(), h.signLogout(t, devissuer.LogoutToken{Subject: sub, SID: sid}))
	if resp.StatusCode != http.StatusOK || h.alive(t, value) {
		t.Fatalf("sub and sid of the session: HTTP %d, still alive %v", resp.StatusCode, h.alive(t, value))
	}
}

func TestBackchannelLogoutUnknownSidEndsNothing(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	value, _ := h.loginSession(t)
	resp, body := postLogoutToken(t, h.backchannelURL(), h.signLogout(t, devissuer.LogoutToken{SID: "not-a-session-we-know"}))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("unknown sid: HTTP %d %v, want 200", resp.StatusCode, body)
	}
	if !h.alive(t, value) {
		t.Error("a logout token for an unknown sid ended a session")
	}
}

func TestBackchannelLogoutRefusesAReplayedJTI(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	_, sub := h.loginSession(t)
	tok := h.signLogout(t, devissuer.LogoutToken{Subject: sub, JTI: "once-only"})
	if resp, body := postLogoutToken(t, h.backchannelURL(), tok); resp.StatusCode != http.StatusOK {
		t.Fatalf("first use: HTTP %d %v", resp.StatusCode, body)
	}
	// A session created after the logout must not be ended by a replay.
	later, _ := h.loginSession(t)
	resp, body := postLogoutToken(t, h.backchannelURL(), tok)
	if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_request" || !strings.Contains(body["error_description"], "jti") {
		t.Fatalf("replay: HTTP %d %v, want 400 invalid_request naming the jti", resp.StatusCode, body)
	}
	if !h.alive(t, later) {
		t.Error("a replayed logout token ended a later session")
	}
}

// TestBackchannelLogoutRefusals sends a token failing each check of
// Back-Channel Logout 1.0 §2.6 and expects 400 with an OAuth error body
// and the session untouched.
func TestBackchannelLogoutRefusals(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	value, sub := h.loginSession(t)
	now := time.Now()
	cases := []struct {
		name  string
		lt    devissuer.LogoutToken
		check string
	}{
		{"alg none", devissuer.LogoutToken{Alg: devissuer.AlgNone}, "signature"},
		{"HMAC with the client secret", devissuer.LogoutToken{Alg: devissuer.AlgHS256}, "signature"},
		{"bad signature", devissuer.LogoutToken{Alg: devissuer.AlgBadSignature}, "signature"},
		{"wrong issuer", devissuer.LogoutToken{Claims: map[string]any{"iss": "https://evil.example"}}, "iss"},
		{"wrong audience", devissuer.LogoutToken{Claims: map[string]any{"aud": "another-client"}}, "aud"},
		{"no iat", devissuer.LogoutToken{Claims: map[string]any{"iat": nil}}, "iat"},
		{"old iat", devissuer.LogoutToken{IssuedAt: now.Add(-time.Hour), Expiry: now.Add(time.Hour)}, "iat"},
		{"iat in the future", devissuer.LogoutToken{IssuedAt: now.Add(time.Hour), Expiry: now.Add(2 * time.Hour)}, "iat"},
		{"no exp", devissuer.LogoutToken{Claims: map[string]any{"exp": nil}}, "exp"},
		{"expired", devissuer.LogoutToken{IssuedAt: now.Add(-5 * time.Minute), Expiry: now.Add(-time.Minute)}, "exp"},
		{"no jti", devissuer.LogoutToken{Claims: map[string]any{"jti": nil}}, "jti"},
		{"no events", devissuer.LogoutToken{Claims: map[string]any{"events": nil}}, "events"},
		{"events without the logout member", devissuer.LogoutToken{Claims: map[string]any{"events": map[string]any{"http://example.com/other": map[string]any{}}}}, "events"},
		{"events member not an object", devissuer.LogoutToken{Claims: map[string]any{"events": map[string]any{devissuer.BackchannelLogoutEvent: "yes"}}}, "events"},
		{"events as an array", devissuer.LogoutToken{Claims: map[string]any{"events": []string{devissuer.BackchannelLogoutEvent}}}, "events"},
		{"neither sub nor sid", devissuer.LogoutToken{Claims: map[string]any{"sub": nil}}, "sub"},
		{"with a nonce", devissuer.LogoutToken{Claims: map[string]any{"nonce": "n-0123456789"}}, "nonce"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lt := tc.lt
			if lt.Claims == nil || lt.Claims["sub"] != nil || !hasKey(lt.Claims, "sub") {
				lt.Subject = sub
			}
			resp, body := postLogoutToken(t, h.backchannelURL(), h.signLogout(t, lt))
			if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_request" {
				t.Fatalf("HTTP %d %v, want 400 invalid_request", resp.StatusCode, body)
			}
			if !strings.Contains(body["error_description"], tc.check) {
				t.Errorf("error_description %q does not name the %s check", body["error_description"], tc.check)
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q", resp.Header.Get("Cache-Control"))
			}
			if !h.alive(t, value) {
				t.Fatal("a refused logout token ended the session")
			}
		})
	}
}

func hasKey(m map[string]any, k string) bool {
	_, ok := m[k]
	return ok
}

func TestBackchannelLogoutBadRequests(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	_, sub := h.loginSession(t)
	good := h.signLogout(t, devissuer.LogoutToken{Subject: sub})
	post := func(u, contentType, body string) (int, map[string]string) {
		resp, err := http.Post(u, contentType, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	form := "application/x-www-form-urlencoded"
	for _, tc := range []struct{ name, url, ct, body string }{
		{"JSON body", h.backchannelURL(), "application/json", `{"logout_token":"` + good + `"}`},
		{"no logout_token", h.backchannelURL(), form, "token=x"},
		{"two logout_tokens", h.backchannelURL(), form, "logout_token=" + good + "&logout_token=" + good},
		{"not a JWT", h.backchannelURL(), form, "logout_token=not-a-jwt"},
		{"other project", h.srv.URL + "/v1/account/sessions/oauth2/backchannel/corp/other", form, "logout_token=" + good},
		{"unknown provider", h.srv.URL + "/v1/account/sessions/oauth2/backchannel/nope/default", form, "logout_token=" + good},
	} {
		status, body := post(tc.url, tc.ct, tc.body)
		if status != http.StatusBadRequest || body["error"] != "invalid_request" {
			t.Errorf("%s: HTTP %d %v, want 400 invalid_request", tc.name, status, body)
		}
	}
}

// TestBackchannelLogoutReachesEveryInstance runs two instances on one
// PostgreSQL store: a logout token received by one ends the session there
// at once and on the other (whose session cache holds it) within the
// revocation bound, and the jti is refused by both afterwards.
func TestBackchannelLogoutReachesEveryInstance(t *testing.T) {
	dsn := testpg.FreshDSN(t, testpg.DSN(t), "bcl")
	h := newHarness(t, harnessOptions{noRefresh: true, mutateConf: func(c *config.Config) {
		c.Store = config.Store{Driver: "postgres", DSN: dsn}
	}})
	other := h.secondInstance(t, false).srv.URL
	value, sub := h.loginSession(t)
	if status, _ := apiAt(t, other, "/v1/account", value); status != http.StatusOK {
		t.Fatalf("the second instance does not know the session: HTTP %d", status)
	}
	tok := h.signLogout(t, devissuer.LogoutToken{Subject: sub})
	if resp, body := postLogoutToken(t, h.backchannelURL(), tok); resp.StatusCode != http.StatusOK {
		t.Fatalf("logout: HTTP %d %v", resp.StatusCode, body)
	}
	if h.alive(t, value) {
		t.Fatal("the session still authenticates on the instance that received the logout")
	}
	// The second instance may have the session cached: it learns of the
	// delete from the store's change feed, within the bound of any
	// revocation.
	waitFor(t, 20*time.Second, "the logout to reach the second instance", func() bool {
		status, _ := apiAt(t, other, "/v1/account", value)
		return status == http.StatusUnauthorized
	})
	resp, _ := postLogoutToken(t, other+"/v1/account/sessions/oauth2/backchannel/corp/default", tok)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("the same token at the second instance: HTTP %d, want 400 (jti replay)", resp.StatusCode)
	}
}

// apiAt calls GET path at base with a session value.
func apiAt(t testing.TB, base, path, session string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	req.Header.Set("X-Appwrite-Session", session)
	req.Header.Set("X-Appwrite-Project", "default")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}
