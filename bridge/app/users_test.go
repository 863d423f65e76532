package app

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/config"
	"github.com/sessionbridge/sessionbridge/bridge/httpapi"
	"github.com/sessionbridge/sessionbridge/bridge/lifecycle"
	"github.com/sessionbridge/sessionbridge/internal/devissuer"
)

const apiKey = "api-key-secret-0123456789"

// key calls the API with the harness's API key.
func (h *harness) key(t testing.TB, method, path, body string) reply {
	t.Helper()
	var rd *strings.Reader
	if body != "" {
		rd = strings.NewReader(body)
	} else {
		rd = strings.NewReader("")
	}
	return send(t, h.request(method, path, rd, "X-Appwrite-Key", apiKey, "Content-Type", "application/json"))
}

// as calls the API with a session value.
func (h *harness) as(t testing.TB, session, method, path, body string) reply {
	t.Helper()
	return send(t, h.request(method, path, strings.NewReader(body), "X-Appwrite-Session", session, "Content-Type", "application/json"))
}

// providerAccepts reports whether the fake provider's user-info endpoint
// accepts an access token right now.
func (h *harness) providerAccepts(t testing.TB, token string) bool {
	t.Helper()
	req, _ := http.NewRequest("GET", h.iss.URL()+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	r := send(t, req)
	return r.StatusCode == http.StatusOK
}

// ended reads sessionbridge_sessions_ended_total{provider,reason}.
func (h *harness) ended(t testing.TB, provider string, reason lifecycle.Reason) float64 {
	t.Helper()
	families, err := h.app.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "sessionbridge_sessions_ended_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["provider"] == provider && labels["reason"] == string(reason) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// countWhere counts stored sessions matching a SQL condition.
func (h *harness) countWhere(t testing.TB, cond string) int {
	t.Helper()
	return h.count(t, "SELECT COUNT(*) FROM sessions WHERE "+cond)
}

func q(queries ...string) string {
	v := url.Values{}
	for _, s := range queries {
		v.Add("queries[]", s)
	}
	return v.Encode()
}

func TestIdentitiesCarryFreshTokens(t *testing.T) {
	h := newHarness(t, harnessOptions{
		issuer:    devissuer.Options{AccessTokenTTL: 3 * time.Second, RotateRefreshTokens: true},
		beforeExp: 2 * time.Second,
	})
	_, value := h.loggedIn(t)
	userID := h.as(t, value, "GET", "/v1/account", "").json["$id"].(string)
	waitFor(t, 15*time.Second, "a background refresh", func() bool { return h.iss.Stats().RefreshRequests >= 1 })

	r := h.key(t, "GET", "/v1/users/identities?"+q(`{"method":"equal","attribute":"userId","values":["`+userID+`"]}`), "")
	list, _ := r.json["identities"].([]any)
	if r.StatusCode != 200 || r.json["total"] != float64(1) || len(list) != 1 {
		t.Fatalf("users.listIdentities: %d %v", r.StatusCode, r.json)
	}
	ident := list[0].(map[string]any)
	token, _ := ident["providerAccessToken"].(string)
	if token == "" || ident["providerRefreshToken"] == "" || ident["providerAccessTokenExpiry"] == "" {
		t.Fatalf("API key sees an identity without all three tokens: %v", ident["provider"])
	}
	if !h.providerAccepts(t, token) {
		t.Error("the provider refuses the identity's access token")
	}
	// It is the token of the session's grant as it stands now.
	sessions := h.key(t, "GET", "/v1/users/"+userID+"/sessions", "").json["sessions"].([]any)
	if got := sessions[0].(map[string]any)["providerAccessToken"]; got != token &&
		h.key(t, "GET", "/v1/users/identities", "").json["identities"].([]any)[0].(map[string]any)["providerAccessToken"] != got {
		t.Error("the identity's access token is not its session's")
	}

	own := h.as(t, value, "GET", "/v1/account/identities", "")
	mine := own.json["identities"].([]any)[0].(map[string]any)
	if mine["providerAccessToken"] == "" || mine["providerRefreshToken"] != "" {
		t.Errorf("owner: access token shown %v, refresh token hidden %v", mine["providerAccessToken"] != "", mine["providerRefreshToken"] == "")
	}

	// The last session ends: the identity's tokens read "".
	if r := h.as(t, value, "DELETE", "/v1/account/sessions/current", ""); r.StatusCode != 204 {
		t.Fatalf("sign out: %d", r.StatusCode)
	}
	ident = h.key(t, "GET", "/v1/users/identities", "").json["identities"].([]any)[0].(map[string]any)
	if ident["providerAccessToken"] != "" || ident["providerRefreshToken"] != "" || ident["providerAccessTokenExpiry"] != "" {
		t.Errorf("tokens of an identity without live session: %v", ident)
	}
}

func TestReadingIdentitiesSendsNoTokenRequest(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true, issuer: devissuer.Options{AccessTokenTTL: time.Second}})
	_, value := h.loggedIn(t)
	time.Sleep(1100 * time.Millisecond) // the access token expires
	before := h.iss.Stats()
	for range 3 {
		if r := h.key(t, "GET", "/v1/users/identities", ""); r.StatusCode != 200 {
			t.Fatalf("users.listIdentities: %d %v", r.StatusCode, r.json)
		}
		if r := h.as(t, value, "GET", "/v1/account/identities", ""); r.StatusCode != 200 {
			t.Fatalf("account.listIdentities: %d %v", r.StatusCode, r.json)
		}
	}
	if after := h.iss.Stats(); after.TokenRequests != before.TokenRequests || after.RefreshRequests != before.RefreshRequests {
		t.Errorf("reading identities sent token requests: %+v -> %+v", before, after)
	}
}

func TestIdentityRoutesRefusals(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	_, value := h.loggedIn(t)
	wantError(t, h.key(t, "GET", "/v1/users/identities?"+q(`{"method":"equal","attribute":"secret","values":["x"]}`), ""), 400, "general_argument_invalid")
	wantError(t, h.key(t, "GET", "/v1/users/identities?"+q(`{"method":"cursorAfter","values":["gone"]}`), ""), 400, "general_cursor_not_found")
	wantError(t, h.key(t, "DELETE", "/v1/users/identities/nope", ""), 404, "user_identity_not_found")
	wantError(t, h.as(t, value, "DELETE", "/v1/account/identities/nope", ""), 404, "user_identity_not_found")
	wantError(t, send(t, h.request("GET", "/v1/users/identities", nil)), 401, "general_unauthorized_scope")
	wantError(t, send(t, h.request("DELETE", "/v1/users/identities/x", nil, "X-Appwrite-Session", value)), 401, "general_unauthorized_scope")
}

func TestDeleteIdentityEndsItsSessions(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	_, a := h.loggedIn(t)
	_, b := h.loggedIn(t)
	ident := h.as(t, a, "GET", "/v1/account/identities", "").json["identities"].([]any)[0].(map[string]any)
	r := send(t, h.request("DELETE", "/v1/account/identities/"+ident["$id"].(string), nil,
		"Cookie", "a_session_default="+a))
	if r.StatusCode != 204 {
		t.Fatalf("account.deleteIdentity: %d %v", r.StatusCode, r.json)
	}
	if c := cookieNamed(r.Response, "a_session_default"); c == nil || c.Value != "" {
		t.Errorf("the caller's cookie, whose session ended, was not cleared: %v", c)
	}
	for _, v := range []string{a, b} {
		wantError(t, h.as(t, v, "GET", "/v1/account", ""), 401, "general_unauthorized_scope")
	}
	if n := h.countSessions(t); n != 0 {
		t.Errorf("%d sessions left", n)
	}
	if got := h.ended(t, "corp", lifecycle.IdentityDeleted); got != 2 {
		t.Errorf("identity_deleted counted %v sessions, want 2", got)
	}
	if r := h.key(t, "GET", "/v1/users/identities?total=false", ""); r.json["total"] != float64(0) || len(r.json["identities"].([]any)) != 0 {
		t.Errorf("identities after delete: %v", r.json)
	}
}

func TestBlockedUser(t *testing.T) {
	h := newHarness(t, harnessOptions{
		issuer:    devissuer.Options{AccessTokenTTL: 3 * time.Second, RotateRefreshTokens: true},
		beforeExp: 2 * time.Second,
	})
	_, value := h.loggedIn(t)
	userID := h.as(t, value, "GET", "/v1/account", "").json["$id"].(string)
	jwt := h.as(t, value, "POST", "/v1/account/jwts", "").json["jwt"].(string)

	r := h.key(t, "PATCH", "/v1/users/"+userID+"/status", `{"status":false}`)
	if r.StatusCode != 200 || r.json["status"] != false {
		t.Fatalf("users.updateStatus(false): %d %v", r.StatusCode, r.json)
	}
	wantError(t, h.as(t, value, "GET", "/v1/account", ""), 401, "user_blocked")
	wantError(t, send(t, h.request("GET", "/v1/account", nil, "X-Appwrite-JWT", jwt)), 401, "user_blocked")
	// The refresher leaves the grant alone while the user is blocked: once
	// a refresh that was in flight has landed, the grant is off the
	// schedule, and no request follows while tokens lapse (3s TTL).
	waitFor(t, 10*time.Second, "the grant to leave the schedule", func() bool {
		return h.countWhere(t, "refresh_at IS NOT NULL OR lease_owner != ''") == 0
	})
	refreshes := h.iss.Stats().RefreshRequests
	time.Sleep(4 * time.Second)
	if n := h.iss.Stats().RefreshRequests; n != refreshes {
		t.Errorf("%d refreshes of a blocked user's grant", n-refreshes)
	}
	// A new login is refused with user_blocked, and makes no session.
	n := h.countSessions(t)
	resp := h.login(t, h.browser())
	if f := failureOf(t, resp); f["type"] != "user_blocked" || f["code"] != float64(401) {
		t.Errorf("login of a blocked user: %v", f)
	}
	if h.countSessions(t) != n {
		t.Error("a blocked user's login created a session")
	}
	wantError(t, h.key(t, "POST", "/v1/users/"+userID+"/sessions", ""), 401, "user_blocked")
	wantError(t, h.key(t, "POST", "/v1/users/"+userID+"/jwts", ""), 401, "user_blocked")
	if u := h.key(t, "GET", "/v1/users/"+userID, ""); u.json["status"] != false {
		t.Errorf("users.get status %v", u.json["status"])
	}

	if r := h.key(t, "PATCH", "/v1/users/"+userID+"/status", `{"status":true}`); r.StatusCode != 200 || r.json["status"] != true {
		t.Fatalf("users.updateStatus(true): %d %v", r.StatusCode, r.json)
	}
	if r := h.as(t, value, "GET", "/v1/account", ""); r.StatusCode != 200 || r.json["status"] != true {
		t.Errorf("after unblocking: %d %v", r.StatusCode, r.json)
	}
	refreshes = h.iss.Stats().RefreshRequests
	waitFor(t, 15*time.Second, "refreshes after unblocking", func() bool { return h.iss.Stats().RefreshRequests > refreshes })
	wantError(t, h.key(t, "PATCH", "/v1/users/"+userID+"/status", `{}`), 400, "general_argument_invalid")
	wantError(t, h.key(t, "PATCH", "/v1/users/nope/status", `{"status":false}`), 404, "user_not_found")
}

func TestJWT(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	_, value := h.loggedIn(t)
	r := h.as(t, value, "POST", "/v1/account/jwts", `{"duration":60}`)
	jwt, _ := r.json["jwt"].(string)
	if r.StatusCode != 201 || jwt == "" {
		t.Fatalf("account.createJWT: %d %v", r.StatusCode, r.json)
	}
	withJWT := func(token, method, path string) reply {
		return send(t, h.request(method, path, nil, "X-Appwrite-JWT", token))
	}
	me := withJWT(jwt, "GET", "/v1/account")
	if me.StatusCode != 200 || me.json["$id"] == "" {
		t.Fatalf("account.get with the JWT: %d %v", me.StatusCode, me.json)
	}
	if cur := withJWT(jwt, "GET", "/v1/account/sessions/current"); cur.json["current"] != true || cur.json["providerRefreshToken"] != "" {
		t.Errorf("getSession(current) with the JWT: %v", cur.json["current"])
	}
	wantError(t, withJWT(jwt+"x", "GET", "/v1/account"), 401, "user_jwt_invalid")
	// A JWT can neither mint JWTs nor extend its session.
	wantError(t, withJWT(jwt, "POST", "/v1/account/jwts"), 401, "user_unauthorized")
	wantError(t, withJWT(jwt, "PATCH", "/v1/account/sessions/current"), 401, "user_unauthorized")
	wantError(t, withJWT(jwt, "PATCH", "/v1/account/sessions/"+me.json["$id"].(string)+"x"), 401, "user_unauthorized")
	if cur := withJWT(jwt, "GET", "/v1/account/sessions/current"); cur.json["expire"] != h.as(t, value, "GET", "/v1/account/sessions/current", "").json["expire"] {
		t.Errorf("a refused extension moved the session's expire")
	}
	wantError(t, h.as(t, value, "POST", "/v1/account/jwts", `{"duration":3601}`), 400, "general_argument_invalid")

	// The API key's users.createJWT, for the most recent session.
	userID := me.json["$id"].(string)
	r = h.key(t, "POST", "/v1/users/"+userID+"/jwts", `{}`)
	keyJWT, _ := r.json["jwt"].(string)
	if r.StatusCode != 201 || withJWT(keyJWT, "GET", "/v1/account").StatusCode != 200 {
		t.Fatalf("users.createJWT: %d %v", r.StatusCode, r.json)
	}
	wantError(t, h.key(t, "POST", "/v1/users/"+userID+"/jwts", `{"sessionId":"nope"}`), 404, "user_session_not_found")
	wantError(t, h.key(t, "POST", "/v1/users/nope/jwts", `{}`), 404, "user_not_found")

	// The session ends: every JWT made from it stops working at once.
	if r := h.as(t, value, "DELETE", "/v1/account/sessions/current", ""); r.StatusCode != 204 {
		t.Fatal(r.StatusCode)
	}
	wantError(t, withJWT(jwt, "GET", "/v1/account"), 401, "general_unauthorized_scope")
	wantError(t, withJWT(keyJWT, "GET", "/v1/account"), 401, "general_unauthorized_scope")
}

func TestJWTRateLimit(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	_, value := h.loggedIn(t)
	srv := h.second(t, Options{RateLimits: httpapi.RateLimits{JWT: httpapi.RateLimit{Limit: 2, Window: time.Hour}}})
	post := func() reply {
		return send(t, mustRequest(t, "POST", srv.URL+"/v1/account/jwts", value))
	}
	for i := range 2 {
		if r := post(); r.StatusCode != 201 {
			t.Fatalf("JWT %d: %d %v", i, r.StatusCode, r.json)
		}
	}
	r := post()
	wantError(t, r, 429, "general_rate_limit_exceeded")
	if r.Header.Get("X-RateLimit-Limit") != "2" {
		t.Errorf("X-RateLimit-Limit %q", r.Header.Get("X-RateLimit-Limit"))
	}
}

func mustRequest(t *testing.T, method, u, session string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Appwrite-Session", session)
	return req
}

func TestDeleteUser(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	_, value := h.loggedIn(t)
	_, second := h.loggedIn(t)
	userID := h.as(t, value, "GET", "/v1/account", "").json["$id"].(string)
	if r := h.key(t, "DELETE", "/v1/users/"+userID, ""); r.StatusCode != 204 {
		t.Fatalf("users.delete: %d %v", r.StatusCode, r.json)
	}
	for _, v := range []string{value, second} {
		wantError(t, h.as(t, v, "GET", "/v1/account", ""), 401, "general_unauthorized_scope")
	}
	wantError(t, h.key(t, "GET", "/v1/users/"+userID, ""), 404, "user_not_found")
	if n := h.countSessions(t); n != 0 {
		t.Errorf("%d sessions left", n)
	}
	if got := h.ended(t, "corp", lifecycle.UserDeleted); got != 2 {
		t.Errorf("user_deleted counted %v, want 2", got)
	}
	wantError(t, h.key(t, "DELETE", "/v1/users/"+userID, ""), 404, "user_not_found")
	// The provider account signs in again as a new user.
	_, again := h.loggedIn(t)
	if id := h.as(t, again, "GET", "/v1/account", "").json["$id"]; id == userID || id == nil {
		t.Errorf("login after delete: user %v", id)
	}
}

func TestPrefsAndName(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	_, value := h.loggedIn(t)
	if r := h.as(t, value, "GET", "/v1/account/prefs", ""); r.StatusCode != 200 || len(r.json) != 0 {
		t.Fatalf("account.getPrefs: %d %v", r.StatusCode, r.json)
	}
	r := h.as(t, value, "PATCH", "/v1/account/prefs", `{"prefs":{"theme":"dark","n":2}}`)
	if r.StatusCode != 200 || r.json["prefs"].(map[string]any)["theme"] != "dark" {
		t.Fatalf("account.updatePrefs: %d %v", r.StatusCode, r.json)
	}
	userID := r.json["$id"].(string)
	if p := h.key(t, "GET", "/v1/users/"+userID+"/prefs", ""); p.json["n"] != float64(2) {
		t.Errorf("users.getPrefs: %v", p.json)
	}
	if p := h.key(t, "PATCH", "/v1/users/"+userID+"/prefs", `{"prefs":{"lang":"fr","big":12345678901234567890}}`); p.StatusCode != 200 || p.json["lang"] != "fr" || p.json["theme"] != nil {
		t.Errorf("users.updatePrefs replaces: %d %v", p.StatusCode, p.json)
	}
	if p := h.key(t, "GET", "/v1/users/"+userID+"/prefs", ""); !strings.Contains(string(p.body), `"big":12345678901234567890`) {
		t.Errorf("a large number lost digits: %s", p.body)
	}
	big := `{"prefs":{"x":"` + strings.Repeat("a", 65536) + `"}}`
	wantError(t, h.as(t, value, "PATCH", "/v1/account/prefs", big), 400, "general_argument_invalid")
	wantError(t, h.as(t, value, "PATCH", "/v1/account/prefs", `{"prefs":[1]}`), 400, "general_argument_invalid")
	wantError(t, h.as(t, value, "PATCH", "/v1/account/prefs", `{}`), 400, "general_argument_invalid")
	if p := h.as(t, value, "GET", "/v1/account/prefs", ""); p.json["lang"] != "fr" {
		t.Errorf("a refused update changed the prefs: %v", p.json)
	}

	r = h.as(t, value, "PATCH", "/v1/account/name", `{"name":"Ada Byron"}`)
	if r.StatusCode != 200 || r.json["name"] != "Ada Byron" {
		t.Fatalf("account.updateName: %d %v", r.StatusCode, r.json)
	}
	wantError(t, h.as(t, value, "PATCH", "/v1/account/name", `{"name":"`+strings.Repeat("n", 129)+`"}`), 400, "general_argument_invalid")
	// A new login keeps the chosen name.
	_, again := h.loggedIn(t)
	if u := h.as(t, again, "GET", "/v1/account", ""); u.json["name"] != "Ada Byron" {
		t.Errorf("name after a new login: %v", u.json["name"])
	}
	if u := h.key(t, "PATCH", "/v1/users/"+userID+"/name", `{"name":"A. B."}`); u.json["name"] != "A. B." {
		t.Errorf("users.updateName: %v", u.json)
	}
}

func TestListUsers(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	_, value := h.loggedIn(t)
	userID := h.as(t, value, "GET", "/v1/account", "").json["$id"].(string)
	r := h.key(t, "GET", "/v1/users?search=ADA@example&"+q(`{"method":"limit","values":[1]}`), "")
	users, _ := r.json["users"].([]any)
	if r.StatusCode != 200 || r.json["total"] != float64(1) || len(users) != 1 || users[0].(map[string]any)["$id"] != userID {
		t.Fatalf("users.list: %d %v", r.StatusCode, r.json)
	}
	r = h.key(t, "GET", "/v1/users?"+q(`{"method":"cursorAfter","values":["`+userID+`"]}`), "")
	if r.StatusCode != 200 || len(r.json["users"].([]any)) != 0 || r.json["total"] != float64(1) {
		t.Errorf("users.list after the only user: %v", r.json)
	}
	if r := h.key(t, "GET", "/v1/users?search=nobody", ""); r.json["total"] != float64(0) {
		t.Errorf("search nobody: %v", r.json)
	}
	wantError(t, h.key(t, "GET", "/v1/users?"+q(`{"method":"limit","values":[-1]}`), ""), 400, "general_argument_invalid")
	wantError(t, send(t, h.request("GET", "/v1/users", nil, "X-Appwrite-Session", value)), 401, "general_unauthorized_scope")
}

// An identity shows the token of its most recently refreshed live grant,
// whichever of the user's sessions that is.
func TestIdentityFollowsFreshestGrant(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true, issuer: devissuer.Options{RotateRefreshTokens: true}})
	_, a := h.loggedIn(t)
	_, b := h.loggedIn(t)
	identityToken := func() string {
		t.Helper()
		return h.key(t, "GET", "/v1/users/identities", "").json["identities"].([]any)[0].(map[string]any)["providerAccessToken"].(string)
	}
	refresh := func(session string) string {
		t.Helper()
		r := h.as(t, session, "PATCH", "/v1/account/sessions/current", "")
		if r.StatusCode != 200 {
			t.Fatalf("updateSession: %d %v", r.StatusCode, r.json)
		}
		return r.json["providerAccessToken"].(string)
	}
	ta := refresh(a)
	if got := identityToken(); got != ta {
		t.Error("after refreshing a, the identity does not show a's token")
	}
	tb := refresh(b)
	if got := identityToken(); got != tb || tb == ta {
		t.Error("after refreshing b, the identity does not show b's token")
	}
	if r := h.as(t, b, "DELETE", "/v1/account/sessions/current", ""); r.StatusCode != 204 {
		t.Fatal(r.StatusCode)
	}
	if got := identityToken(); got != ta {
		t.Error("after b ended, the identity does not fall back to a's token")
	}
}

// With session.expose_refresh_token the owner sees the identity's refresh
// token too, as for sessions.
func TestIdentityRefreshTokenExposed(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true, mutateConf: func(c *config.Config) { c.Session.ExposeRefreshToken = true }})
	_, value := h.loggedIn(t)
	ident := h.as(t, value, "GET", "/v1/account/identities", "").json["identities"].([]any)[0].(map[string]any)
	if ident["providerRefreshToken"] == "" || ident["providerAccessToken"] == "" {
		t.Error("owner with expose_refresh_token does not see both tokens")
	}
}

// ?fresh=true renews a grant whose token is within refresh.before_expiry
// of expiring before answering; without it, nothing is sent.
func TestIdentitiesFresh(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true, beforeExp: time.Hour,
		issuer: devissuer.Options{AccessTokenTTL: 30 * time.Minute, RotateRefreshTokens: true}})
	_, value := h.loggedIn(t)
	plain := h.key(t, "GET", "/v1/users/identities", "").json["identities"].([]any)[0].(map[string]any)
	if n := h.iss.Stats().RefreshRequests; n != 0 {
		t.Fatalf("a plain read sent %d refresh requests", n)
	}
	fresh := h.key(t, "GET", "/v1/users/identities?fresh=true", "").json["identities"].([]any)[0].(map[string]any)
	if n := h.iss.Stats().RefreshRequests; n != 1 {
		t.Fatalf("fresh=true sent %d refresh requests, want 1", n)
	}
	token, _ := fresh["providerAccessToken"].(string)
	if token == plain["providerAccessToken"] || !h.providerAccepts(t, token) {
		t.Error("fresh=true did not answer a renewed token the provider accepts")
	}
	own := h.as(t, value, "GET", "/v1/account/identities?fresh=1", "").json["identities"].([]any)[0].(map[string]any)
	if own["providerAccessToken"] == "" || own["providerRefreshToken"] != "" {
		t.Error("owner's fresh read: access token missing or refresh token shown")
	}
	wantError(t, h.key(t, "GET", "/v1/users/identities?fresh=maybe", ""), 400, "general_argument_invalid")
}

// TestTextPostgresCannotStoreRefused: NUL characters and invalid UTF-8
// (which PostgreSQL refuses, a 500 there) are the client's error on every
// backend, and change nothing.
func TestTextPostgresCannotStoreRefused(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	_, value := h.loggedIn(t)
	userID := h.as(t, value, "GET", "/v1/account", "").json["$id"].(string)
	// (Invalid UTF-8 in a decoded JSON string arrives as U+FFFD: storable.)
	for _, body := range []string{`{"name":"a\u0000b"}`, `{"name":"\u0000"}`} {
		wantError(t, h.as(t, value, "PATCH", "/v1/account/name", body), 400, "general_argument_invalid")
		wantError(t, h.key(t, "PATCH", "/v1/users/"+userID+"/name", body), 400, "general_argument_invalid")
	}
	for _, body := range []string{`{"prefs":{"k":"a\u0000"}}`, `{"prefs":{"\u0000":1}}`, `{"prefs":{"k":["x",{"y":"\u0000"}]}}`, "{\"prefs\":{\"k\":\"\xc3\"}}"} {
		wantError(t, h.as(t, value, "PATCH", "/v1/account/prefs", body), 400, "general_argument_invalid")
	}
	if r := h.as(t, value, "PATCH", "/v1/account/prefs", `{"prefs":{"k":"\\u0000 as text"}}`); r.StatusCode != 200 {
		t.Errorf("an escaped backslash before u0000 was refused: %d %v", r.StatusCode, r.json)
	}
	for _, query := range []string{
		q(`{"method":"equal","attribute":"userId","values":["a\u0000"]}`),
		q("{\"method\":\"equal\",\"attribute\":\"userId\",\"values\":[\"\xff\"]}"),
		"search=a%00b", "search=%C3",
	} {
		wantError(t, h.key(t, "GET", "/v1/users/identities?"+query, ""), 400, "general_argument_invalid")
	}
	wantError(t, h.key(t, "GET", "/v1/users?search=%00", ""), 400, "general_argument_invalid")
	if u := h.as(t, value, "GET", "/v1/account", ""); strings.ContainsRune(u.json["name"].(string), 0) {
		t.Errorf("a refused name was stored: %q", u.json["name"])
	}
}
