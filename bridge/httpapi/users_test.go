package httpapi

import (
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/lifecycle"
)

func TestUsersRoutes(t *testing.T) {
	runRoutes(t, []routeCase{
		{name: "no key", req: request{path: "/v1/users/u1"}, status: 401, errTyp: "general_unauthorized_scope", check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if m := jsonOf(t, rec)["message"]; m != "User (role: guests) missing scope (users.read)" {
				t.Errorf("message = %v", m)
			}
		}},
		{name: "session is no key", req: request{path: "/v1/users/u1", as: "s1"}, status: 401, errTyp: "general_unauthorized_scope"},
		{name: "wrong key", req: request{path: "/v1/users/u1", key: "nope"}, status: 401, errTyp: "general_unauthorized_scope"},
		{name: "key without the scope", req: request{method: "DELETE", path: "/v1/users/u1", key: keyReadOnly}, status: 401, errTyp: "general_unauthorized_scope", check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if m := jsonOf(t, rec)["message"]; m != "User (role: applications) missing scope (users.write)" {
				t.Errorf("message = %v", m)
			}
			if h.svc.called("DeleteUser u1") {
				t.Errorf("the user was deleted")
			}
		}},
		{name: "get user", req: request{path: "/v1/users/u2", key: keyReadOnly}, status: 200, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			u := jsonOf(t, rec)
			hasExactly(t, "user", u, userKeys)
			if u["$id"] != "u2" || u["email"] != "bob@example.com" || len(u["prefs"].(map[string]any)) != 0 {
				t.Errorf("user = %v", u)
			}
		}},
		{name: "unknown user", req: request{path: "/v1/users/nope", key: keyReadOnly}, status: 404, errTyp: "user_not_found"},
		{name: "list users", req: request{path: "/v1/users?queries[]=" + queryParam(`{"method":"limit","values":[1]}`) + "&search=ada", key: keyReadOnly}, status: 200, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			m := jsonOf(t, rec)
			if m["total"] != float64(2) || len(m["users"].([]any)) != 1 || h.svc.lastPage.Limit != 1 || h.svc.lastPage.Search != "ada" {
				t.Errorf("list = %v, page %+v", m, h.svc.lastPage)
			}
		}},
		{name: "list users bad query", req: request{path: "/v1/users?queries[]=" + queryParam(`{"method":"limit","values":["x"]}`), key: keyReadOnly}, status: 400, errTyp: "general_argument_invalid"},
		{name: "list users fails", req: request{path: "/v1/users", key: keyReadOnly}, setup: func(h *harness) { h.svc.fail["ListUsers"] = errFakeStoreDown }, status: 500},
		{name: "all identities", req: request{path: "/v1/users/identities?queries[]=" + queryParam(`{"method":"equal","attribute":"provider","values":["corp"]}`), key: keyReadOnly}, status: 200, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			m := jsonOf(t, rec)
			list := m["identities"].([]any)
			if m["total"] != float64(1) || list[0].(map[string]any)["providerRefreshToken"] != "rt2" {
				t.Errorf("identities = %v (an API key sees refresh tokens)", m)
			}
		}},
		{name: "all identities bad query", req: request{path: "/v1/users/identities?queries[]=" + queryParam(`{"method":"equal","attribute":"email","values":["x"]}`), key: keyReadOnly}, status: 400, errTyp: "general_argument_invalid"},
		{name: "user sessions", req: request{path: "/v1/users/u1/sessions", key: keyReadOnly}, status: 200, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			m := jsonOf(t, rec)
			for _, x := range m["sessions"].([]any) {
				s := x.(map[string]any)
				if s["current"] != false || s["providerRefreshToken"] != "refresh-"+s["$id"].(string) {
					t.Errorf("session for an API key = %v", s)
				}
			}
			if m["total"] != float64(2) {
				t.Errorf("total = %v", m["total"])
			}
		}},
		{name: "user sessions of unknown user", req: request{path: "/v1/users/nope/sessions", key: keyReadOnly}, status: 404, errTyp: "user_not_found"},
		{name: "user sessions fail", req: request{path: "/v1/users/u1/sessions", key: keyReadOnly}, setup: func(h *harness) { h.svc.fail["Sessions"] = errFakeStoreDown }, status: 500},
		{name: "create user session", req: request{method: "POST", path: "/v1/users/u2/sessions", key: keyAll}, status: 201, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			s := jsonOf(t, rec)
			hasExactly(t, "session", s, sessionKeys)
			cred, ok := h.srv.codec.decode(s["secret"].(string))
			if !ok || cred.SessionID != "server1" || cred.Secret != h.svc.secrets["server1"] {
				t.Errorf("secret %q decodes to %v", s["secret"], cred)
			}
			if f := s["factors"].([]any); len(f) != 1 || f[0] != "server" || s["current"] != false {
				t.Errorf("session = %v", s)
			}
			if cookie(rec, "a_session_default") != nil {
				t.Errorf("a server session sets a cookie")
			}
		}},
		{name: "create session for unknown user", req: request{method: "POST", path: "/v1/users/nope/sessions", key: keyAll}, status: 404, errTyp: "user_not_found"},
		{name: "create session read-only key", req: request{method: "POST", path: "/v1/users/u2/sessions", key: keyReadOnly}, status: 401, errTyp: "general_unauthorized_scope"},
		{name: "delete user sessions", req: request{method: "DELETE", path: "/v1/users/u1/sessions", key: keyAll}, status: 204, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if !h.svc.called("DeleteSessions u1 " + string(lifecycle.Revoked)) {
				t.Errorf("calls = %v", h.svc.calls)
			}
		}},
		{name: "delete sessions of unknown user", req: request{method: "DELETE", path: "/v1/users/nope/sessions", key: keyAll}, status: 404, errTyp: "user_not_found"},
		{name: "delete sessions fails", req: request{method: "DELETE", path: "/v1/users/u1/sessions", key: keyAll}, setup: func(h *harness) { h.svc.fail["DeleteSessions"] = errFakeStoreDown }, status: 500},
		{name: "delete sessions read-only key", req: request{method: "DELETE", path: "/v1/users/u1/sessions", key: keyReadOnly}, status: 401},
		{name: "delete one user session", req: request{method: "DELETE", path: "/v1/users/u1/sessions/s2", key: keyAll}, status: 204, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if !h.svc.called("DeleteSession u1 s2 " + string(lifecycle.Revoked)) {
				t.Errorf("calls = %v", h.svc.calls)
			}
		}},
		{name: "delete another user's session", req: request{method: "DELETE", path: "/v1/users/u1/sessions/s3", key: keyAll}, status: 404, errTyp: "user_session_not_found"},
		{name: "delete identity", req: request{method: "DELETE", path: "/v1/users/identities/i2", key: keyAll}, status: 204, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if !h.svc.called("DeleteIdentity  i2") {
				t.Errorf("calls = %v", h.svc.calls)
			}
		}},
		{name: "delete unknown identity", req: request{method: "DELETE", path: "/v1/users/identities/nope", key: keyAll}, status: 404, errTyp: "user_identity_not_found"},
		{name: "delete identity read-only key", req: request{method: "DELETE", path: "/v1/users/identities/i2", key: keyReadOnly}, status: 401},
		{name: "delete unknown sub-resource", req: request{method: "DELETE", path: "/v1/users/u1/prefs", key: keyAll}, status: 404, errTyp: "general_route_not_found"},
		{name: "delete user", req: request{method: "DELETE", path: "/v1/users/u2", key: keyAll}, status: 204, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if _, ok := h.svc.users["u2"]; ok {
				t.Errorf("the user is still there")
			}
		}},
		{name: "delete unknown user", req: request{method: "DELETE", path: "/v1/users/nope", key: keyAll}, status: 404, errTyp: "user_not_found"},
		{name: "block user", req: request{method: "PATCH", path: "/v1/users/u2/status", key: keyAll, body: `{"status":false}`}, status: 200, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if u := jsonOf(t, rec); u["status"] != false || !h.svc.users["u2"].Blocked {
				t.Errorf("user = %v", u)
			}
		}},
		{name: "status missing", req: request{method: "PATCH", path: "/v1/users/u2/status", key: keyAll, body: `{}`}, status: 400, errTyp: "general_argument_invalid"},
		{name: "status not a boolean", req: request{method: "PATCH", path: "/v1/users/u2/status", key: keyAll, body: `{"status":"no"}`}, status: 400, errTyp: "general_argument_invalid", check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if !strings.Contains(jsonOf(t, rec)["message"].(string), "field status must be a bool") {
				t.Errorf("message = %s", rec.Body.String())
			}
		}},
		{name: "status of unknown user", req: request{method: "PATCH", path: "/v1/users/nope/status", key: keyAll, body: `{"status":true}`}, status: 404, errTyp: "user_not_found"},
		{name: "user name", req: request{method: "PATCH", path: "/v1/users/u2/name", key: keyAll, body: `{"name":"Robert"}`}, status: 200, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if jsonOf(t, rec)["name"] != "Robert" {
				t.Errorf("body = %s", rec.Body.String())
			}
		}},
		{name: "user prefs", req: request{path: "/v1/users/u1/prefs", key: keyReadOnly}, status: 200, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if rec.Body.String() != `{"n":1.50,"theme":"dark"}`+"\n" {
				t.Errorf("prefs = %s", rec.Body.String())
			}
		}},
		{name: "user prefs of unknown user", req: request{path: "/v1/users/nope/prefs", key: keyReadOnly}, status: 404, errTyp: "user_not_found"},
		{name: "update user prefs answers the prefs", req: request{method: "PATCH", path: "/v1/users/u2/prefs", key: keyAll, body: `{"prefs":{"lang":"de"}}`}, status: 200, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if rec.Body.String() != `{"lang":"de"}`+"\n" {
				t.Errorf("prefs = %s", rec.Body.String())
			}
		}},
		{name: "user JWT", req: request{method: "POST", path: "/v1/users/u1/jwts", key: keyAll, body: `{"sessionId":"s2","duration":60}`}, status: 201, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			claims, err := h.srv.jwt.Verify(jsonOf(t, rec)["jwt"].(string))
			if err != nil || claims.UserID != "u1" || claims.SessionID != "s2" {
				t.Errorf("claims %+v, %v", claims, err)
			}
		}},
		{name: "user JWT of the most recent session", req: request{method: "POST", path: "/v1/users/u2/jwts", key: keyAll}, status: 201},
		{name: "user JWT unknown session", req: request{method: "POST", path: "/v1/users/u1/jwts", key: keyAll, body: `{"sessionId":"s3"}`}, status: 404, errTyp: "user_session_not_found"},
		{name: "user JWT bad duration", req: request{method: "POST", path: "/v1/users/u1/jwts", key: keyAll, body: `{"duration":3601}`}, status: 400, errTyp: "general_argument_invalid"},
		{name: "user JWT bad body", req: request{method: "POST", path: "/v1/users/u1/jwts", key: keyAll, body: `[`}, status: 400, errTyp: "general_argument_invalid"},
	}, nil)
}

// An account JWT stands for its session: it authenticates while the
// session lives, may neither mint JWTs nor extend the session, and the
// account JWT route is rate-limited per user.
func TestAccountJWT(t *testing.T) {
	// Three: the create, the bad duration (counted: its body parsed) and the second.
	h := newHarness(t, func(o *Options) { o.RateLimits.JWT = RateLimit{Limit: 3, Window: time.Hour} })
	rec := h.do(request{method: "POST", path: "/v1/account/jwts", as: "s1", body: `{"duration":0}`})
	if rec.Code != 201 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body.String())
	}
	jwt := jsonOf(t, rec)["jwt"].(string)
	for _, c := range []struct {
		name   string
		req    request
		status int
		typ    string
	}{
		{"read with the JWT", request{path: "/v1/account", header: []string{"X-Appwrite-JWT", jwt}}, 200, ""},
		{"a JWT decides alone", request{path: "/v1/account", as: "s1", header: []string{"X-Appwrite-JWT", "garbage"}}, 401, "user_jwt_invalid"},
		{"no JWT from a JWT", request{method: "POST", path: "/v1/account/jwts", header: []string{"X-Appwrite-JWT", jwt}}, 401, "user_unauthorized"},
		{"no extension by a JWT", request{method: "PATCH", path: "/v1/account/sessions/current", header: []string{"X-Appwrite-JWT", jwt}}, 401, "user_unauthorized"},
		{"bad duration", request{method: "POST", path: "/v1/account/jwts", as: "s1", body: `{"duration":-1}`}, 400, "general_argument_invalid"},
		{"bad body", request{method: "POST", path: "/v1/account/jwts", as: "s1", body: `{"duration":"x"}`}, 400, "general_argument_invalid"},
		{"second JWT", request{method: "POST", path: "/v1/account/jwts", as: "s1"}, 201, ""},
		{"over the limit", request{method: "POST", path: "/v1/account/jwts", as: "s1"}, 429, "general_rate_limit_exceeded"},
		{"another user's limit is their own", request{method: "POST", path: "/v1/account/jwts", as: "s3"}, 201, ""},
	} {
		rec := h.do(c.req)
		if rec.Code != c.status || (c.typ != "" && jsonOf(t, rec)["type"] != c.typ) {
			t.Errorf("%s: HTTP %d %s, want %d %s", c.name, rec.Code, rec.Body.String(), c.status, c.typ)
		}
	}
	// The session ended: its JWT no longer authenticates.
	delete(h.svc.sessions, "s1")
	if rec := h.do(request{path: "/v1/account", header: []string{"X-Appwrite-JWT", jwt}}); rec.Code != 401 {
		t.Errorf("JWT of an ended session: %d", rec.Code)
	}
	if !slices.Contains(h.svc.calls, "AuthenticateJWT u1 s1") {
		t.Errorf("calls = %v", h.svc.calls)
	}
}
