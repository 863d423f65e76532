package httpapi

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/sessionbridge/sessionbridge/bridge/lifecycle"
)

// sessionKeys are the keys of the Session model (CONTRACT.md §5), each
// always present.
var sessionKeys = []string{"$id", "$createdAt", "$updatedAt", "userId", "expire", "provider", "providerUid",
	"providerAccessToken", "providerAccessTokenExpiry", "providerRefreshToken", "ip", "osCode", "osName",
	"osVersion", "clientType", "clientCode", "clientName", "clientVersion", "clientEngine",
	"clientEngineVersion", "deviceName", "deviceBrand", "deviceModel", "countryCode", "countryName",
	"current", "factors", "secret", "mfaUpdatedAt"}

// userKeys are the keys of the User model.
var userKeys = []string{"$id", "$createdAt", "$updatedAt", "name", "registration", "status", "labels",
	"passwordUpdate", "email", "phone", "emailVerification", "phoneVerification", "mfa", "prefs", "targets", "accessedAt"}

func hasExactly(t *testing.T, what string, m map[string]any, keys []string) {
	t.Helper()
	got := sortedKeys(m)
	want := slices.Clone(keys)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s keys = %v, want %v", what, got, want)
	}
	for k, v := range m {
		if v == nil {
			t.Errorf("%s: %s is null", what, k)
		}
	}
}

func TestAccountRoutes(t *testing.T) {
	sessionOf := func(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
		m := jsonOf(t, rec)
		hasExactly(t, "session", m, sessionKeys)
		return m
	}
	runRoutes(t, []routeCase{
		{name: "no credential", req: request{path: "/v1/account"}, status: 401, errTyp: "general_unauthorized_scope"},
		{name: "forged credential", req: request{path: "/v1/account", header: []string{"X-Appwrite-Session", "forged"}}, status: 401, errTyp: "general_unauthorized_scope"},
		{name: "account by cookie", req: request{path: "/v1/account", as: "s1"}, status: 200, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			u := jsonOf(t, rec)
			hasExactly(t, "user", u, userKeys)
			if u["$id"] != "u1" || u["name"] != "Ada Lovelace" || u["status"] != true || u["emailVerification"] != true ||
				u["$createdAt"] != "2026-12-01T12:00:00.000+00:00" {
				t.Errorf("user = %v", u)
			}
			if p := u["prefs"].(map[string]any); p["theme"] != "dark" || p["n"] != 1.5 {
				t.Errorf("prefs = %v", p)
			}
			if rec.Header().Get("Cache-Control") != "no-store" || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("headers = %v", rec.Header())
			}
		}},
		{name: "wrong project header", req: request{path: "/v1/account", as: "s1", header: []string{"X-Appwrite-Project", "other"}}, status: 404, errTyp: "project_not_found"},
		{name: "wrong project query", req: request{path: "/v1/account?project=other", as: "s1"}, status: 404, errTyp: "project_not_found"},
		{name: "right project query", req: request{path: "/v1/account?project=default", as: "s1"}, status: 200},
		{name: "blocked user", req: request{path: "/v1/account", as: "s3"}, setup: func(h *harness) {
			u := h.svc.users["u2"]
			u.Blocked = true
			h.svc.users["u2"] = u
		}, status: 401, errTyp: "user_blocked"},
		{name: "store down while authenticating", req: request{path: "/v1/account", as: "s1"}, setup: func(h *harness) {
			h.svc.fail["Authenticate"] = errFakeStoreDown
		}, status: 500, errTyp: "general_server_error", check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if strings.Contains(rec.Body.String(), "connection refused") {
				t.Errorf("the cause leaks: %s", rec.Body.String())
			}
		}},
		{name: "user lookup fails", req: request{path: "/v1/account", as: "s1"}, setup: func(h *harness) { h.svc.fail["User"] = errFakeUserNotFound }, status: 404, errTyp: "user_not_found"},
		{name: "list sessions", req: request{path: "/v1/account/sessions", as: "s1"}, status: 200, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			m := jsonOf(t, rec)
			list := m["sessions"].([]any)
			if m["total"] != float64(2) || len(list) != 2 {
				t.Fatalf("list = %v", m)
			}
			for _, x := range list {
				s := x.(map[string]any)
				hasExactly(t, "session", s, sessionKeys)
				if s["current"] != (s["$id"] == "s1") || s["providerRefreshToken"] != "" || s["providerAccessToken"] != "access-"+s["$id"].(string) ||
					s["secret"] != "" || s["countryCode"] != "--" || s["countryName"] != "Unknown" {
					t.Errorf("session = %v", s)
				}
			}
		}},
		{name: "list sessions fails", req: request{path: "/v1/account/sessions", as: "s1"}, setup: func(h *harness) { h.svc.fail["Sessions"] = errFakeStoreDown }, status: 500, errTyp: "general_server_error"},
		{name: "token unseal fails", req: request{path: "/v1/account/sessions", as: "s1"}, setup: func(h *harness) { h.svc.fail["AccessToken"] = errFakeStoreDown }, status: 500, errTyp: "general_server_error"},
		{name: "current session", req: request{path: "/v1/account/sessions/current", as: "s1"}, status: 200, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			s := sessionOf(t, rec)
			if s["$id"] != "s1" || s["current"] != true || s["factors"].([]any)[0] != "oauth2" || s["expire"] != "2026-12-04T12:00:00.000+00:00" {
				t.Errorf("session = %v", s)
			}
			if !h.svc.called("Fresh s1") || h.svc.called("Session u1 s1") {
				t.Errorf("the current session is read again instead of freshened: %v", h.svc.calls)
			}
			if rec.Header().Get("Content-Length") == "" {
				t.Errorf("hand-written session JSON has no Content-Length")
			}
		}},
		{name: "own other session", req: request{path: "/v1/account/sessions/s2", as: "s1"}, status: 200, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if s := sessionOf(t, rec); s["$id"] != "s2" || s["current"] != false || s["provider"] != "corp" {
				t.Errorf("session = %v", s)
			}
		}},
		{name: "another user's session", req: request{path: "/v1/account/sessions/s3", as: "s1"}, status: 404, errTyp: "user_session_not_found"},
		{name: "extend current session", req: request{method: "PATCH", path: "/v1/account/sessions/current", as: "s1"}, status: 200, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			c := cookie(rec, "a_session_default")
			if c == nil || !c.Expires.Equal(h.now.AddDate(1, 0, 0)) || !c.HttpOnly || c.Secure || c.Path != "/" {
				t.Fatalf("cookie = %+v", c)
			}
			if cred, ok := h.srv.codec.decode(c.Value); !ok || cred.SessionID != "s1" {
				t.Errorf("the renewed cookie carries %v", cred)
			}
			if s := sessionOf(t, rec); s["expire"] != "2027-12-03T12:00:00.000+00:00" {
				t.Errorf("expire = %v", s["expire"])
			}
		}},
		{name: "extend unknown", req: request{method: "PATCH", path: "/v1/account/sessions/nope", as: "s1"}, status: 404, errTyp: "user_session_not_found"},
		{name: "delete current", req: request{method: "DELETE", path: "/v1/account/sessions/current", as: "s1", header: []string{"Origin", appOrigin}}, status: 204, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if !cleared(rec, "a_session_default") || !h.svc.called("DeleteSession u1 s1 "+string(lifecycle.SignedOut)) {
				t.Errorf("cookie not cleared or session not deleted: %v", h.svc.calls)
			}
			if rec.Header().Get("X-Fallback-Cookies") != `{"a_session_default":""}` || rec.Header().Get("Access-Control-Allow-Origin") != appOrigin {
				t.Errorf("fallback/CORS headers = %v", rec.Header())
			}
		}},
		{name: "delete other", req: request{method: "DELETE", path: "/v1/account/sessions/s2", as: "s1"}, status: 204, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if cookie(rec, "a_session_default") != nil || h.svc.sessions["s2"].ID != "" {
				t.Errorf("deleting another session touched the cookie or left the session")
			}
		}},
		{name: "delete foreign", req: request{method: "DELETE", path: "/v1/account/sessions/s3", as: "s1"}, status: 404, errTyp: "user_session_not_found"},
		{name: "delete all", req: request{method: "DELETE", path: "/v1/account/sessions", as: "s1"}, status: 204, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if !cleared(rec, "a_session_default") || len(h.svc.sessions) != 1 {
				t.Errorf("cookie cleared %v, sessions left %v", cleared(rec, "a_session_default"), h.svc.sessions)
			}
		}},
		{name: "delete all fails", req: request{method: "DELETE", path: "/v1/account/sessions", as: "s1"}, setup: func(h *harness) { h.svc.fail["DeleteSessions"] = errFakeStoreDown }, status: 500},
		{name: "prefs", req: request{path: "/v1/account/prefs", as: "s1"}, status: 200, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if rec.Body.String() != `{"n":1.50,"theme":"dark"}`+"\n" {
				t.Errorf("prefs = %s (numbers must stay as written)", rec.Body.String())
			}
		}},
		{name: "update prefs", req: request{method: "PATCH", path: "/v1/account/prefs", as: "s1", body: `{"prefs":{"a":1}}`}, status: 200, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if u := jsonOf(t, rec); u["$id"] != "u1" || u["prefs"].(map[string]any)["a"] != float64(1) {
				t.Errorf("user = %v", u)
			}
		}},
		{name: "update prefs without prefs", req: request{method: "PATCH", path: "/v1/account/prefs", as: "s1", body: `{}`}, status: 400, errTyp: "general_argument_invalid"},
		{name: "update prefs not an object", req: request{method: "PATCH", path: "/v1/account/prefs", as: "s1", body: `{"prefs":[1]}`}, status: 400, errTyp: "general_argument_invalid"},
		{name: "update prefs bad JSON", req: request{method: "PATCH", path: "/v1/account/prefs", as: "s1", body: `{"prefs":`}, status: 400, errTyp: "general_argument_invalid"},
		{name: "update prefs too large", req: request{method: "PATCH", path: "/v1/account/prefs", as: "s1", body: `{"prefs":{"a":"` + strings.Repeat("x", maxUserBody) + `"}}`}, status: 400, errTyp: "general_argument_invalid"},
		{name: "update name", req: request{method: "PATCH", path: "/v1/account/name", as: "s1", body: `{"name":"Ada King"}`}, status: 200, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if jsonOf(t, rec)["name"] != "Ada King" {
				t.Errorf("name not updated: %s", rec.Body.String())
			}
		}},
		{name: "update name missing", req: request{method: "PATCH", path: "/v1/account/name", as: "s1", body: `{"x":1}`}, status: 400, errTyp: "general_argument_invalid"},
		{name: "update name fails", req: request{method: "PATCH", path: "/v1/account/name", as: "s1", body: `{"name":"x"}`}, setup: func(h *harness) { h.svc.fail["SetName"] = errFakeStoreDown }, status: 500},
		{name: "form body refused", req: request{method: "PATCH", path: "/v1/account/name", as: "s1", header: []string{"Content-Type", "application/x-www-form-urlencoded"}, body: "name=x"}, status: 415, errTyp: "general_argument_invalid"},
		{name: "cross-site write refused", req: request{method: "DELETE", path: "/v1/account/sessions", as: "s1", header: []string{"Origin", "https://evil.example"}}, status: 403, errTyp: "general_access_forbidden"},
		{name: "own identities", req: request{path: "/v1/account/identities", as: "s1"}, status: 200, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			m := jsonOf(t, rec)
			list := m["identities"].([]any)
			if m["total"] != float64(1) || len(list) != 1 {
				t.Fatalf("identities = %v", m)
			}
			i := list[0].(map[string]any)
			if i["$id"] != "i1" || i["providerAccessToken"] != "at1" || i["providerRefreshToken"] != "" || i["providerEmail"] != "ada@example.com" {
				t.Errorf("identity = %v", i)
			}
			if h.svc.lastFresh || !slices.Equal(h.svc.lastFilter.UserIDs, []string{"u1"}) {
				t.Errorf("filter %+v fresh %v", h.svc.lastFilter, h.svc.lastFresh)
			}
		}},
		{name: "own identities fresh", req: request{path: "/v1/account/identities?fresh=true&queries[]=" + queryParam(`{"method":"equal","attribute":"provider","values":["gh"]}`), as: "s1"}, status: 200, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if !h.svc.lastFresh || !slices.Equal(h.svc.lastFilter.Providers, []string{"gh"}) {
				t.Errorf("filter %+v fresh %v", h.svc.lastFilter, h.svc.lastFresh)
			}
		}},
		{name: "own identities of another user", req: request{path: "/v1/account/identities?queries[]=" + queryParam(`{"method":"equal","attribute":"userId","values":["u2"]}`), as: "s1"}, status: 200, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if rec.Body.String() != `{"identities":[],"total":0}`+"\n" || h.svc.called("FindIdentities") {
				t.Errorf("another user's identities: %s", rec.Body.String())
			}
		}},
		{name: "identities bad fresh", req: request{path: "/v1/account/identities?fresh=maybe", as: "s1"}, status: 400, errTyp: "general_argument_invalid"},
		{name: "identities bad query", req: request{path: "/v1/account/identities?queries[]=nonsense", as: "s1"}, status: 400, errTyp: "general_argument_invalid"},
		{name: "identities fail", req: request{path: "/v1/account/identities", as: "s1"}, setup: func(h *harness) { h.svc.fail["FindIdentities"] = errFakeStoreDown }, status: 500},
		{name: "delete own identity of this session", req: request{method: "DELETE", path: "/v1/account/identities/i1", as: "s1"}, status: 204, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if !cleared(rec, "a_session_default") {
				t.Errorf("the session that ended with its identity keeps its cookie")
			}
		}},
		{name: "delete another's identity", req: request{method: "DELETE", path: "/v1/account/identities/i2", as: "s1"}, status: 404, errTyp: "user_identity_not_found"},
	}, nil)
}

// queryParam encodes a value for a URL query.
func queryParam(v string) string {
	return strings.NewReplacer(`"`, "%22", "{", "%7B", "}", "%7D", "[", "%5B", "]", "%5D", ",", "%2C", ":", "%3A", " ", "%20").Replace(v)
}

// The session credential is read from the cookie, X-Appwrite-Session and
// X-Fallback-Cookies; the first that authenticates wins, so a stale value
// in one place does not hide a good one in another.
func TestCredentialSources(t *testing.T) {
	h := newHarness(t, nil)
	good, stale := h.credential("s1"), h.credential("s2")
	delete(h.svc.sessions, "s2")
	for _, c := range []struct {
		name   string
		req    request
		status int
	}{
		{"header", request{path: "/v1/account", header: []string{"X-Appwrite-Session", good}}, 200},
		{"fallback", request{path: "/v1/account", header: []string{"X-Fallback-Cookies", `{"a_session_default":"` + good + `"}`}}, 200},
		{"fallback of another project", request{path: "/v1/account", header: []string{"X-Fallback-Cookies", `{"a_session_other":"` + good + `"}`}}, 401},
		{"fallback not JSON", request{path: "/v1/account", header: []string{"X-Fallback-Cookies", good}}, 401},
		{"stale cookie, good header", request{path: "/v1/account", cookies: []*http.Cookie{{Name: "a_session_default", Value: stale}}, header: []string{"X-Appwrite-Session", good}}, 200},
		{"stale everywhere", request{path: "/v1/account", header: []string{"X-Appwrite-Session", stale}}, 401},
		{"too long", request{path: "/v1/account", header: []string{"X-Appwrite-Session", strings.Repeat("a", 2000)}}, 401},
	} {
		if rec := h.do(c.req); rec.Code != c.status {
			t.Errorf("%s: HTTP %d, want %d: %s", c.name, rec.Code, c.status, rec.Body.String())
		}
	}
	// PATCH with the header: the answer sets no cookie (the caller has none).
	rec := h.do(request{method: "PATCH", path: "/v1/account/sessions/current", header: []string{"X-Appwrite-Session", good}})
	if rec.Code != 200 || cookie(rec, "a_session_default") != nil {
		t.Errorf("PATCH by header: %d, cookie %v", rec.Code, cookie(rec, "a_session_default"))
	}
}

// session.expose_refresh_token shows the owner the refresh token.
func TestExposeRefreshToken(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.ExposeRefreshToken = true })
	rec := h.do(request{path: "/v1/account/sessions/current", as: "s1"})
	if s := jsonOf(t, rec); s["providerRefreshToken"] != "refresh-s1" {
		t.Errorf("session = %v", s)
	}
	rec = h.do(request{path: "/v1/account/identities", as: "s1"})
	if !strings.Contains(rec.Body.String(), `"providerRefreshToken":"rt1"`) {
		t.Errorf("identities = %s", rec.Body.String())
	}
	h.svc.fail["Tokens"] = errFakeStoreDown
	if rec := h.do(request{path: "/v1/account/sessions/current", as: "s1"}); rec.Code != 500 {
		t.Errorf("a failed unseal: %d", rec.Code)
	}
}
