package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/sessionbridge/sessionbridge/bridge/config"
)

// rawClient never follows redirects, so tests see each hop.
var rawClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// reply is a response with its body read.
type reply struct {
	*http.Response
	body []byte
	json map[string]any
}

// send performs req without following redirects and decodes a JSON body.
func send(t testing.TB, req *http.Request) reply {
	t.Helper()
	resp, err := rawClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, redactURL(req.URL.String()), err)
	}
	defer resp.Body.Close()
	r := reply{Response: resp}
	r.body, _ = io.ReadAll(resp.Body)
	if len(r.body) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(r.body, &r.json); err != nil {
			t.Fatalf("%s %s: HTTP %d, JSON body does not parse: %.200s", req.Method, redactURL(req.URL.String()), resp.StatusCode, r.body)
		}
	}
	return r
}

// request builds a request to the harness's server.
func (h *harness) request(method, path string, body io.Reader, headers ...string) *http.Request {
	req, _ := http.NewRequest(method, h.srv.URL+path, body)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return req
}

// wantError asserts an Appwrite error reply.
func wantError(t testing.TB, r reply, status int, typ string) {
	t.Helper()
	if r.StatusCode != status || r.json["type"] != typ {
		t.Fatalf("want HTTP %d %s, got %d %v", status, typ, r.StatusCode, r.json)
	}
	for _, k := range []string{"message", "code", "type", "version"} {
		if _, ok := r.json[k]; !ok {
			t.Errorf("error body lacks %q: %v", k, r.json)
		}
	}
	if code, _ := r.json["code"].(float64); int(code) != status {
		t.Errorf("error code %v, status %d", r.json["code"], status)
	}
}

// second serves another App over the harness's store and configuration (a
// second process sharing the database), built with o.
func (h *harness) second(t testing.TB, o Options) *httptest.Server {
	t.Helper()
	a, err := Build(context.Background(), h.cfg, slog.New(slog.NewTextHandler(h.logs, nil)), o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler)
	t.Cleanup(func() { srv.Close(); a.Close() })
	return srv
}

// loggedIn runs a login in a fresh browser and returns its session value.
func (h *harness) loggedIn(t testing.TB) (*browser, string) {
	t.Helper()
	b := h.browser()
	h.login(t, b)
	v := h.sessionCookie(t, b)
	if v == "" {
		t.Fatal("no session cookie after login")
	}
	return b, v
}

func headerHas(list, want string) bool {
	for _, v := range strings.Split(list, ",") {
		if strings.EqualFold(strings.TrimSpace(v), want) {
			return true
		}
	}
	return false
}

func TestCORS(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	t.Run("preflight from an allow-listed origin", func(t *testing.T) {
		r := send(t, h.request("OPTIONS", "/v1/account/sessions/current", nil,
			"Origin", appOrigin, "Access-Control-Request-Method", "PATCH",
			"Access-Control-Request-Headers", "content-type,x-appwrite-project,x-appwrite-response-format,x-sdk-version,x-sdk-name,x-sdk-platform,x-sdk-language,x-fallback-cookies,x-appwrite-session"))
		if r.StatusCode != http.StatusNoContent && r.StatusCode != http.StatusOK {
			t.Fatalf("preflight: HTTP %d", r.StatusCode)
		}
		hd := r.Header
		if hd.Get("Access-Control-Allow-Origin") != appOrigin || hd.Get("Access-Control-Allow-Credentials") != "true" {
			t.Fatalf("allow-origin %q credentials %q", hd.Get("Access-Control-Allow-Origin"), hd.Get("Access-Control-Allow-Credentials"))
		}
		for _, m := range []string{"GET", "POST", "PATCH", "DELETE", "PUT"} {
			if !headerHas(hd.Get("Access-Control-Allow-Methods"), m) {
				t.Errorf("method %s not allowed: %q", m, hd.Get("Access-Control-Allow-Methods"))
			}
		}
		for _, x := range []string{"Content-Type", "X-Appwrite-Project", "X-Appwrite-Response-Format", "X-Appwrite-Session",
			"X-Appwrite-Key", "X-SDK-Version", "X-SDK-Name", "X-SDK-Platform", "X-SDK-Language", "X-Fallback-Cookies"} {
			if !headerHas(hd.Get("Access-Control-Allow-Headers"), x) {
				t.Errorf("header %s not allowed: %q", x, hd.Get("Access-Control-Allow-Headers"))
			}
		}
		if !headerHas(hd.Get("Vary"), "Origin") {
			t.Errorf("Vary = %q", hd.Get("Vary"))
		}
	})
	t.Run("actual request from an allow-listed origin", func(t *testing.T) {
		r := send(t, h.request("GET", "/v1/account", nil, "Origin", appOrigin))
		wantError(t, r, 401, "general_unauthorized_scope") // CORS headers on errors too
		if r.Header.Get("Access-Control-Allow-Origin") != appOrigin || r.Header.Get("Access-Control-Allow-Credentials") != "true" ||
			!headerHas(r.Header.Get("Access-Control-Expose-Headers"), "X-Fallback-Cookies") {
			t.Fatalf("CORS headers: %v", r.Header)
		}
	})
	for _, origin := range []string{"https://evil.example", "http://app.example.evil.example", "null", "http://app.example:8443"} {
		t.Run("not allowed "+origin, func(t *testing.T) {
			pre := send(t, h.request("OPTIONS", "/v1/account", nil, "Origin", origin, "Access-Control-Request-Method", "GET"))
			act := send(t, h.request("GET", "/v1/account", nil, "Origin", origin))
			for _, r := range []reply{pre, act} {
				for k := range r.Header {
					if strings.HasPrefix(strings.ToLower(k), "access-control-") {
						t.Errorf("%s: %s: %s", r.Request.Method, k, r.Header.Get(k))
					}
				}
			}
		})
	}
}

func TestProjectMismatch(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	_, value := h.loggedIn(t)
	for _, c := range []struct{ name, path, header string }{
		{"header", "/v1/account", "other"},
		{"query", "/v1/account?project=other", ""},
		{"query on a login route", "/v1/account/sessions/oauth2/corp?project=other", ""},
		{"header and matching query", "/v1/account?project=default", "other"},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := h.request("GET", c.path, nil, "X-Appwrite-Session", value, "Accept", "application/json")
			if c.header != "" {
				req.Header.Set("X-Appwrite-Project", c.header)
			}
			wantError(t, send(t, req), 404, "project_not_found")
		})
	}
	r := send(t, h.request("GET", "/v1/account?project=default", nil, "X-Appwrite-Session", value, "X-Appwrite-Project", "default"))
	if r.StatusCode != 200 {
		t.Fatalf("matching project: HTTP %d %v", r.StatusCode, r.json)
	}
}

func TestBadCredentialsAreUnauthorized(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	_, value := h.loggedIn(t)
	cases := []struct{ name, header, value string }{
		{"garbage session header", "X-Appwrite-Session", "garbage"},
		{"tampered session header", "X-Appwrite-Session", value[:len(value)-2] + "xx"},
		{"long session header", "X-Appwrite-Session", strings.Repeat("A", 5000)},
		{"fallback not JSON", "X-Fallback-Cookies", "{not json"},
		{"fallback JSON array", "X-Fallback-Cookies", `["a_session_default"]`},
		{"fallback number value", "X-Fallback-Cookies", `{"a_session_default": 5}`},
		{"fallback null", "X-Fallback-Cookies", `null`},
		{"fallback other project", "X-Fallback-Cookies", `{"a_session_other":"` + value + `"}`},
		{"fallback garbage value", "X-Fallback-Cookies", `{"a_session_default":"%%%"}`},
		{"fallback huge", "X-Fallback-Cookies", `{"a_session_default":"` + strings.Repeat("x", 20000) + `"}`},
		{"cookie garbage", "Cookie", "a_session_default=garbage"},
		{"cookie empty", "Cookie", "a_session_default="},
		{"cookie of another session name", "Cookie", "a_session_other=" + value},
		{"cookie malformed", "Cookie", "a_session_default"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, path := range []string{"/v1/account", "/v1/account/sessions", "/v1/account/sessions/current", "/v1/account/identities"} {
				wantError(t, send(t, h.request("GET", path, nil, c.header, c.value)), 401, "general_unauthorized_scope")
			}
			wantError(t, send(t, h.request("DELETE", "/v1/account/sessions", nil, c.header, c.value)), 401, "general_unauthorized_scope")
		})
	}
	if n := h.countSessions(t); n != 1 {
		t.Fatalf("sessions = %d after refused requests", n)
	}
}

func TestTokenBodyRefusals(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	for _, body := range []string{"{", "not json", `{"userId": 5, "secret": "x"}`, `["userId"]`, "", `{"userId":"u"}`, `{"userId":"","secret":""}`} {
		r := send(t, h.request("POST", "/v1/account/sessions/token", strings.NewReader(body), "Content-Type", "application/json"))
		wantError(t, r, 400, "general_argument_invalid")
		if strings.Contains(string(r.body), "not json") {
			t.Errorf("the error echoes the body: %s", r.body)
		}
	}
	big := `{"userId":"` + strings.Repeat("u", 100<<10) + `","secret":"s"}`
	r := send(t, h.request("POST", "/v1/account/sessions/token", strings.NewReader(big), "Content-Type", "application/json"))
	wantError(t, r, 400, "general_argument_invalid")
	r = send(t, h.request("POST", "/v1/account/sessions/token", strings.NewReader(`{"userId":"nobody","secret":"nothing"}`), "Content-Type", "application/json"))
	wantError(t, r, 401, "user_invalid_token")
}

func TestIdentities(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	_, value := h.loggedIn(t)
	_, sess := h.api(t, "GET", "/v1/account/sessions/current", value, nil)
	status, out := h.api(t, "GET", "/v1/account/identities", value, nil)
	if status != 200 {
		t.Fatalf("identities: HTTP %d %v", status, out)
	}
	list, _ := out["identities"].([]any)
	if out["total"] != float64(1) || len(list) != 1 {
		t.Fatalf("identities = %v", out)
	}
	id := list[0].(map[string]any)
	if id["provider"] != "corp" || id["providerUid"] != sess["providerUid"] || id["userId"] != sess["userId"] ||
		id["providerEmail"] != "ada@example.com" || id["$id"] == "" {
		t.Errorf("identity = %v", id)
	}
	for _, k := range []string{"$id", "$createdAt", "$updatedAt", "userId", "provider", "providerUid", "providerEmail",
		"providerAccessToken", "providerAccessTokenExpiry", "providerRefreshToken"} {
		if _, ok := id[k].(string); !ok {
			t.Errorf("identity %s is %T", k, id[k])
		}
	}
}

func TestUnknownProvider(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	for _, route := range []string{"/v1/account/sessions/oauth2/nope", "/v1/account/tokens/oauth2/nope"} {
		r := send(t, h.request("GET", route+"?success=http://app.example/ok", nil, "Accept", "application/json"))
		wantError(t, r, 412, "project_provider_disabled")
		r = send(t, h.request("GET", route, nil, "Accept", "text/html,application/xhtml+xml"))
		if r.StatusCode != 412 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("browser: HTTP %d %s", r.StatusCode, r.Header.Get("Content-Type"))
		}
	}
	if h.iss.Stats().AuthorizeRequests != 0 {
		t.Fatal("an unknown provider reached the issuer")
	}
}

func TestAPIKeyScopes(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true, mutateConf: func(c *config.Config) {
		c.APIKeys = append(c.APIKeys,
			config.APIKey{ID: "reader", Secret: "reader-key-secret-0123456789", Scopes: []string{"sessions.read"}},
			config.APIKey{ID: "users", Secret: "users-key-secret-0123456789", Scopes: []string{"users.read", "users.write"}})
	}})
	_, value := h.loggedIn(t)
	_, sess := h.api(t, "GET", "/v1/account/sessions/current", value, nil)
	uid := sess["userId"].(string)
	const full, reader, users = "api-key-secret-0123456789", "reader-key-secret-0123456789", "users-key-secret-0123456789"
	cases := []struct {
		method, path, key string
		status            int
	}{
		{"GET", "/v1/users/" + uid, "", 401},
		{"GET", "/v1/users/" + uid, "wrong-key", 401},
		{"GET", "/v1/users/" + uid, full + "x", 401},
		{"GET", "/v1/users/" + uid, reader, 401},
		{"GET", "/v1/users/" + uid, users, 200},
		{"GET", "/v1/users/" + uid + "/sessions", reader, 401}, // Appwrite: users.read
		{"GET", "/v1/users/" + uid + "/sessions", users, 200},
		{"GET", "/v1/users/" + uid + "/sessions", "", 401},
		{"DELETE", "/v1/users/" + uid + "/sessions", reader, 401},
		{"DELETE", "/v1/users/" + uid + "/sessions/" + sess["$id"].(string), reader, 401},
		{"POST", "/v1/users/" + uid + "/sessions", reader, 401},
		{"POST", "/v1/users/" + uid + "/sessions", "", 401},
		{"POST", "/v1/users/" + uid + "/sessions", users, 201},
		{"GET", "/v1/users", reader, 401},
		{"GET", "/v1/users", users, 200},
		{"GET", "/v1/users/identities", reader, 401},
		{"GET", "/v1/users/identities", users, 200},
		{"DELETE", "/v1/users/identities/x", reader, 401},
		{"PATCH", "/v1/users/" + uid + "/status", reader, 401},
		{"PATCH", "/v1/users/" + uid + "/name", reader, 401},
		{"GET", "/v1/users/" + uid + "/prefs", reader, 401},
		{"GET", "/v1/users/" + uid + "/prefs", users, 200},
		{"PATCH", "/v1/users/" + uid + "/prefs", reader, 401},
		{"POST", "/v1/users/" + uid + "/jwts", reader, 401},
		{"POST", "/v1/users/" + uid + "/jwts", "", 401},
		{"DELETE", "/v1/users/" + uid, reader, 401},
		{"DELETE", "/v1/users/" + uid, "", 401},
		{"GET", "/v1/users/nobody/prefs", full, 404},
		{"GET", "/v1/users/nobody", full, 404},
		{"GET", "/v1/users/nobody/sessions", full, 404},
	}
	for _, c := range cases {
		req := h.request(c.method, c.path, nil, "X-Appwrite-Project", "default")
		if c.key != "" {
			req.Header.Set("X-Appwrite-Key", c.key)
		}
		r := send(t, req)
		if r.StatusCode != c.status {
			t.Errorf("%s %s with a key of %d chars: HTTP %d %v, want %d", c.method, c.path, len(c.key), r.StatusCode, r.json, c.status)
			continue
		}
		if c.status == 401 {
			wantError(t, r, 401, "general_unauthorized_scope")
		}
		if c.status == 404 {
			wantError(t, r, 404, "user_not_found")
		}
	}
	// The owner's session survived every refused call.
	if status, _ := h.api(t, "GET", "/v1/account", value, nil); status != 200 {
		t.Fatalf("session gone: %d", status)
	}
	if logs := h.logs.String(); strings.Contains(logs, reader) || strings.Contains(logs, full) {
		t.Fatal("an API key reached the logs")
	}
}

// TestAPIKeyScopesPerRoute: every /v1/users route refuses a key holding
// every scope but the ones Appwrite requires for it, and serves a key
// holding only those. sessions.write does not create sessions.
func TestAPIKeyScopesPerRoute(t *testing.T) {
	all := []string{config.ScopeSessionsRead, config.ScopeSessionsWrite, config.ScopeUsersRead, config.ScopeUsersWrite}
	but := func(scope string) []string {
		var out []string
		for _, s := range all {
			if s != scope {
				out = append(out, s)
			}
		}
		return out
	}
	h := newHarness(t, harnessOptions{noRefresh: true, mutateConf: func(c *config.Config) {
		for _, sc := range []string{config.ScopeUsersRead, config.ScopeUsersWrite} {
			c.APIKeys = append(c.APIKeys,
				config.APIKey{ID: "all-but-" + sc, Secret: "all-but-" + sc + "-0123456789", Scopes: but(sc)},
				config.APIKey{ID: "only-" + sc, Secret: "only-" + sc + "-0123456789", Scopes: []string{sc}})
		}
	}})
	_, value := h.loggedIn(t)
	_, sess := h.api(t, "GET", "/v1/account/sessions/current", value, nil)
	uid, sid := sess["userId"].(string), sess["$id"].(string)
	// status 0: only the refusal is checked (the route needs a body or
	// would end the test's user).
	routes := []struct {
		method, path, scope string
		status              int
	}{
		{"GET", "/v1/users", config.ScopeUsersRead, 200},
		{"GET", "/v1/users/identities", config.ScopeUsersRead, 200},
		{"GET", "/v1/users/" + uid, config.ScopeUsersRead, 200},
		{"GET", "/v1/users/" + uid + "/prefs", config.ScopeUsersRead, 200},
		{"GET", "/v1/users/" + uid + "/sessions", config.ScopeUsersRead, 200},
		{"PATCH", "/v1/users/" + uid + "/status", config.ScopeUsersWrite, 0},
		{"PATCH", "/v1/users/" + uid + "/name", config.ScopeUsersWrite, 0},
		{"PATCH", "/v1/users/" + uid + "/prefs", config.ScopeUsersWrite, 0},
		{"POST", "/v1/users/" + uid + "/jwts", config.ScopeUsersWrite, 0},
		{"POST", "/v1/users/" + uid + "/sessions", config.ScopeUsersWrite, 201},
		{"DELETE", "/v1/users/" + uid + "/sessions/" + sid, config.ScopeUsersWrite, 204},
		{"DELETE", "/v1/users/" + uid + "/sessions", config.ScopeUsersWrite, 204},
		{"DELETE", "/v1/users/identities/nonexistent", config.ScopeUsersWrite, 0},
		{"DELETE", "/v1/users/" + uid, config.ScopeUsersWrite, 0},
	}
	for _, rt := range routes {
		r := send(t, h.request(rt.method, rt.path, nil, "X-Appwrite-Key", "all-but-"+rt.scope+"-0123456789"))
		wantError(t, r, 401, "general_unauthorized_scope")
		if !strings.Contains(r.json["message"].(string), rt.scope) {
			t.Errorf("%s %s: the refusal does not name %s: %v", rt.method, rt.path, rt.scope, r.json["message"])
		}
		if rt.method != "GET" && h.countSessions(t) != 1 {
			t.Fatalf("%s %s with the wrong scopes changed the sessions", rt.method, rt.path)
		}
	}
	for _, rt := range routes {
		if rt.status == 0 {
			continue
		}
		r := send(t, h.request(rt.method, rt.path, nil, "X-Appwrite-Key", "only-"+rt.scope+"-0123456789"))
		if r.StatusCode != rt.status {
			t.Errorf("%s %s with only %s: HTTP %d %v, want %d", rt.method, rt.path, rt.scope, r.StatusCode, r.json, rt.status)
		}
	}
}

// TestGarbageNeverPanics throws odd paths, methods and headers at the
// handler: every answer is a 4xx (or a redirect/page), never a 5xx.
func TestGarbageNeverPanics(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	paths := []string{
		"/v1/account/sessions/%2e%2e", "/v1/account/sessions/oauth2/%00", "/v1/account/sessions/oauth2/corp?success=%zz",
		"/v1/account/sessions/oauth2/corp?success=" + strings.Repeat("a", 9000), "/v1/account/sessions/oauth2/corp?scopes[]=" + strings.Repeat("&scopes[]=x", 80),
		"/v1/account/sessions/oauth2/callback/corp/default?state=" + strings.Repeat("s", 3000) + "&code=x",
		"/v1/account/sessions/oauth2/callback/corp/other?state=x", "/v1/account/sessions/oauth2/callback/nope/default?state=x&code=y",
		"/v1/account/sessions/oauth2/callback/corp/default?error=" + strings.Repeat("%3C", 100),
		"/v1/oauth2/bind/", "/v1/oauth2/bind/nope", "/v1/oauth2/bind/" + strings.Repeat("x", 4000),
		"/v1/users/%ff/sessions", "/v1/users//sessions", "/v1//account", "/v1/account/sessions/current/extra",
		"/account?x=%", "/assets/../../etc/passwd", "/assets/%2e%2e/go.mod", "/v1", "/v1/", "/nope",
		"/v1/account/tokens/oauth2/corp?failure=javascript:alert(1)",
		"/v1/users?queries[]=%7B", "/v1/users?queries[0]=" + url.QueryEscape(`{"method":"limit","values":[1e999]}`),
		"/v1/users/identities?queries[]=" + url.QueryEscape(`{"method":"equal","attribute":"userId","values":[null]}`),
		"/v1/users/identities?total=%00&search=" + strings.Repeat("%ff", 300), "/v1/users/identities/%ff",
		"/v1/account/identities/%00", "/v1/account/jwts", "/v1/account/prefs", "/v1/account/name",
		"/v1/users/x/prefs", "/v1/users/x/status", "/v1/users/x/jwts",
	}
	methods := []string{"GET", "POST", "PATCH", "DELETE", "PUT", "HEAD"}
	headers := [][2]string{
		{"X-Appwrite-Session", "a b\tc"}, {"X-Fallback-Cookies", `{"a_session_default":{"x":1}}`},
		{"Cookie", "sb_flow=garbage; a_session_default=%%%"}, {"X-Appwrite-Project", strings.Repeat("p", 2000)},
		{"X-Forwarded-For", "not-an-ip, 1.2.3.4"}, {"Content-Type", "multipart/form-data; boundary="},
		{"Accept", "application/json"}, {"Origin", "http://app.example"}, {"X-Appwrite-Key", "\xff"},
		{"X-Appwrite-JWT", "e30.e30.AAAA"}, {"X-Appwrite-JWT", strings.Repeat("j", 5000)},
	}
	for _, p := range paths {
		for _, m := range methods {
			for _, hd := range headers {
				req, err := http.NewRequest(m, h.srv.URL+p, strings.NewReader("{\"userId\":[1]}"))
				if err != nil {
					continue // a path the client itself refuses to send
				}
				req.Header.Set(hd[0], hd[1])
				r := send(t, req)
				if r.StatusCode >= 500 {
					t.Errorf("%s %.80s with %s: HTTP %d %.200s", m, p, hd[0], r.StatusCode, r.body)
				}
				// The same straight into the handler, with bytes no client sends.
				direct := httptest.NewRequest(m, "/", strings.NewReader("\x00\xff"))
				direct.URL = req.URL
				direct.RemoteAddr = "garbage"
				direct.Header.Set(hd[0], hd[1]+"\x00\x01")
				rec := httptest.NewRecorder()
				h.app.Handler.ServeHTTP(rec, direct)
				if rec.Code >= 500 {
					t.Errorf("direct %s %.80s with %s: HTTP %d %.200s", m, p, hd[0], rec.Code, rec.Body.String())
				}
			}
		}
	}
	if strings.Contains(h.logs.String(), "panic") {
		t.Fatal("a request panicked")
	}
}
