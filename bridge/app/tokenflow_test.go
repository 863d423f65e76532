package app

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/config"
)

// tokenLogin runs GET /v1/account/tokens/oauth2/corp in a browser and
// returns the userId and secret the success URL received.
func (h *harness) tokenLogin(t *testing.T) (userID, secret string) {
	t.Helper()
	b := h.browser()
	q := url.Values{"success": {appOrigin + "/done?keep=1"}, "failure": {appOrigin + "/fail"}}
	resp := b.get(t, h.srv.URL+"/v1/account/tokens/oauth2/corp?"+q.Encode())
	loc, err := resp.Location()
	if err != nil || loc.Host != "app.example" || loc.Path != "/done" {
		t.Fatalf("token login ended with HTTP %d %v", resp.StatusCode, loc)
	}
	if loc.Query().Get("keep") != "1" {
		t.Error("the success URL lost its own query")
	}
	if h.sessionCookie(t, b) != "" {
		t.Error("the token flow set a session cookie")
	}
	userID, secret = loc.Query().Get("userId"), loc.Query().Get("secret")
	if userID == "" || len(secret) < 32 {
		t.Fatalf("success URL lacks userId/secret (secret %d chars)", len(secret))
	}
	return userID, secret
}

func tokenBody(userID, secret string) *strings.Reader {
	return strings.NewReader(`{"userId":"` + userID + `","secret":"` + secret + `"}`)
}

func TestTokenFlow(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	userID, secret := h.tokenLogin(t)
	if n := h.countSessions(t); n != 0 {
		t.Fatalf("the token flow created %d sessions before redemption", n)
	}

	r := send(t, h.request("POST", "/v1/account/sessions/token", tokenBody(userID, secret),
		"Content-Type", "application/json", "X-Appwrite-Project", "default", "Origin", appOrigin))
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("redeem: HTTP %d %v", r.StatusCode, r.json)
	}
	if r.json["userId"] != userID || r.json["provider"] != "corp" || r.json["current"] != true || r.json["secret"] != "" ||
		r.json["providerAccessToken"] == "" {
		t.Errorf("session = %v", r.json)
	}
	var cookie *http.Cookie
	for _, c := range r.Cookies() {
		if c.Name == "a_session_default" {
			cookie = c
		}
	}
	if cookie == nil || cookie.Value == "" || !cookie.HttpOnly || cookie.Path != "/" || cookie.Secure || cookie.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie = %+v", cookie)
	}
	if fb := r.Header.Get("X-Fallback-Cookies"); !strings.Contains(fb, `"a_session_default":"`+cookie.Value+`"`) {
		t.Errorf("X-Fallback-Cookies for a cross-site app = %q", fb)
	}
	if status, s := h.api(t, "GET", "/v1/account/sessions/current", cookie.Value, nil); status != 200 || s["$id"] != r.json["$id"] {
		t.Fatalf("the new session does not authenticate: %d %v", status, s)
	}

	// Single use.
	again := send(t, h.request("POST", "/v1/account/sessions/token", tokenBody(userID, secret), "Content-Type", "application/json"))
	wantError(t, again, 401, "user_invalid_token")
	// Bound to its user.
	_, secret2 := h.tokenLogin(t)
	wantError(t, send(t, h.request("POST", "/v1/account/sessions/token", tokenBody("someone-else", secret2), "Content-Type", "application/json")),
		401, "user_invalid_token")
	if n := h.countSessions(t); n != 1 {
		t.Fatalf("sessions = %d, want 1", n)
	}

	// An API-key caller gets the secret (form bodies are refused: see
	// TestCrossSiteTokenRedemptionRefused).
	_, secret3 := h.tokenLogin(t)
	r = send(t, h.request("POST", "/v1/account/sessions/token", tokenBody(userID, secret3),
		"Content-Type", "application/json", "X-Appwrite-Key", "api-key-secret-0123456789"))
	if r.StatusCode != 201 {
		t.Fatalf("redeem with key: HTTP %d %v", r.StatusCode, r.json)
	}
	shown, _ := r.json["secret"].(string)
	if shown == "" || r.json["providerRefreshToken"] == "" {
		t.Fatalf("an API-key caller should see secret and refresh token: %v", r.json)
	}
	if r.json["current"] != true {
		t.Errorf("a created session is current (as Appwrite answers), got %v", r.json["current"])
	}
	if status, _ := h.api(t, "GET", "/v1/account", shown, nil); status != 200 {
		t.Fatalf("the shown secret does not authenticate: %d", status)
	}
}

// TestTokenSecretExpires redeems token secrets on a second instance whose
// clock runs ahead: within 60 s they work, after it they do not.
func TestTokenSecretExpires(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	at := func(d time.Duration) func() time.Time { return func() time.Time { return time.Now().Add(d) } }
	late := h.second(t, Options{Now: at(61 * time.Second)})
	soon := h.second(t, Options{Now: at(50 * time.Second)})

	userID, secret := h.tokenLogin(t)
	req, _ := http.NewRequest("POST", late.URL+"/v1/account/sessions/token", tokenBody(userID, secret))
	req.Header.Set("Content-Type", "application/json")
	wantError(t, send(t, req), 401, "user_invalid_token")

	userID, secret = h.tokenLogin(t)
	req, _ = http.NewRequest("POST", soon.URL+"/v1/account/sessions/token", tokenBody(userID, secret))
	req.Header.Set("Content-Type", "application/json")
	if r := send(t, req); r.StatusCode != 201 {
		t.Fatalf("within 60 s: HTTP %d %v", r.StatusCode, r.json)
	}
}

func TestSessionCap(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true, mutateConf: func(c *config.Config) { c.Session.MaxPerUser = 2 }})
	var values []string
	for i := 0; i < 3; i++ {
		_, v := h.loggedIn(t)
		values = append(values, v)
	}
	if n := h.countSessions(t); n != 2 {
		t.Fatalf("sessions = %d, want the cap of 2", n)
	}
	if status, _ := h.api(t, "GET", "/v1/account", values[0], nil); status != 401 {
		t.Errorf("the oldest session still authenticates: %d", status)
	}
	for _, v := range values[1:] {
		if status, _ := h.api(t, "GET", "/v1/account", v, nil); status != 200 {
			t.Errorf("a newer session was removed: %d", status)
		}
	}
	// Server-created sessions count against the same cap.
	_, cur := h.api(t, "GET", "/v1/account/sessions/current", values[2], nil)
	r := send(t, h.request("POST", "/v1/users/"+cur["userId"].(string)+"/sessions", nil, "X-Appwrite-Key", "api-key-secret-0123456789"))
	if r.StatusCode != 201 {
		t.Fatalf("server session: %d %v", r.StatusCode, r.json)
	}
	if status, _ := h.api(t, "GET", "/v1/account", values[1], nil); status != 401 || h.countSessions(t) != 2 {
		t.Errorf("cap not enforced for a server session: %d, %d sessions", status, h.countSessions(t))
	}
}

func TestServerCreatedSession(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	_, value := h.loggedIn(t)
	_, own := h.api(t, "GET", "/v1/account/sessions/current", value, nil)
	uid := own["userId"].(string)

	r := send(t, h.request("POST", "/v1/users/"+uid+"/sessions", nil,
		"X-Appwrite-Key", "api-key-secret-0123456789", "X-Appwrite-Project", "default",
		"User-Agent", "AppwriteNodeJSSDK/27.1.0 (linux; x64)"))
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("create: HTTP %d %v", r.StatusCode, r.json)
	}
	s := r.json
	secret, _ := s["secret"].(string)
	if s["provider"] != "server" || s["userId"] != uid || secret == "" || s["current"] != false ||
		s["providerUid"] != "" || s["providerAccessToken"] != "" || s["providerAccessTokenExpiry"] != "" || s["ip"] != "127.0.0.1" {
		t.Fatalf("session = %v", s)
	}
	if f, _ := s["factors"].([]any); len(f) != 1 || f[0] != "server" {
		t.Errorf("factors = %v", s["factors"])
	}
	for _, c := range r.Cookies() {
		t.Errorf("an API-key response set cookie %s", c.Name)
	}

	// The secret is what setSession takes: every credential form works.
	status, cur := h.api(t, "GET", "/v1/account/sessions/current", secret, nil)
	if status != 200 || cur["$id"] != s["$id"] || cur["current"] != true || cur["secret"] != "" {
		t.Fatalf("with the secret: %d %v", status, cur)
	}
	fb := send(t, h.request("GET", "/v1/account", nil, "X-Fallback-Cookies", `{"a_session_default":"`+secret+`"}`))
	ck := send(t, h.request("GET", "/v1/account", nil, "Cookie", "a_session_default="+secret))
	if fb.StatusCode != 200 || ck.StatusCode != 200 || ck.json["$id"] != uid {
		t.Fatalf("fallback %d cookie %d", fb.StatusCode, ck.StatusCode)
	}
	// PATCH slides it without a provider call.
	before := h.iss.Stats().RefreshRequests
	if status, p := h.api(t, "PATCH", "/v1/account/sessions/current", secret, nil); status != 200 || p["provider"] != "server" {
		t.Fatalf("PATCH: %d %v", status, p)
	}
	if h.iss.Stats().RefreshRequests != before {
		t.Error("PATCH of a server session called the provider")
	}
	if status, list := h.api(t, "GET", "/v1/account/sessions", secret, nil); status != 200 || list["total"] != float64(2) {
		t.Fatalf("list: %d %v", status, list)
	}
	// Deleting it ends it.
	if status, _ := h.api(t, "DELETE", "/v1/account/sessions/current", secret, nil); status != 204 {
		t.Fatalf("DELETE: %d", status)
	}
	if status, _ := h.api(t, "GET", "/v1/account", secret, nil); status != 401 {
		t.Fatalf("deleted session still authenticates: %d", status)
	}
	wantError(t, send(t, h.request("POST", "/v1/users/nobody/sessions", nil, "X-Appwrite-Key", "api-key-secret-0123456789")), 404, "user_not_found")
}

func TestDeleteSessionsClearsCookie(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	_, other := h.loggedIn(t)
	_, value := h.loggedIn(t)
	for _, path := range []string{"/v1/account/sessions", "/v1/account/sessions/current"} {
		if path == "/v1/account/sessions/current" {
			_, value = h.loggedIn(t)
		}
		r := send(t, h.request("DELETE", path, nil, "Cookie", "a_session_default="+value, "Origin", appOrigin))
		if r.StatusCode != http.StatusNoContent {
			t.Fatalf("DELETE %s: HTTP %d %v", path, r.StatusCode, r.json)
		}
		var cleared *http.Cookie
		for _, c := range r.Cookies() {
			if c.Name == "a_session_default" {
				cleared = c
			}
		}
		if cleared == nil || cleared.Value != "" || cleared.MaxAge >= 0 || cleared.Path != "/" || !cleared.HttpOnly ||
			cleared.SameSite != http.SameSiteLaxMode {
			t.Fatalf("DELETE %s: clearing cookie = %+v", path, cleared)
		}
		if fb := r.Header.Get("X-Fallback-Cookies"); fb != `{"a_session_default":""}` {
			t.Errorf("DELETE %s: X-Fallback-Cookies = %q", path, fb)
		}
		if status, _ := h.api(t, "GET", "/v1/account", value, nil); status != 401 {
			t.Fatalf("DELETE %s: session still authenticates", path)
		}
	}
	if status, _ := h.api(t, "GET", "/v1/account", other, nil); status != 401 {
		t.Fatal("DELETE /v1/account/sessions left another session of the user")
	}
	// Deleting another of one's sessions keeps the caller's cookie.
	_, a := h.loggedIn(t)
	_, b := h.loggedIn(t)
	_, sa := h.api(t, "GET", "/v1/account/sessions/current", a, nil)
	r := send(t, h.request("DELETE", "/v1/account/sessions/"+sa["$id"].(string), nil, "Cookie", "a_session_default="+b))
	if r.StatusCode != 204 {
		t.Fatalf("DELETE other: %d", r.StatusCode)
	}
	for _, c := range r.Cookies() {
		if c.Name == "a_session_default" {
			t.Fatal("deleting another session cleared the caller's cookie")
		}
	}
	if status, _ := h.api(t, "GET", "/v1/account", b, nil); status != 200 {
		t.Fatal("the caller's session was ended")
	}
}
