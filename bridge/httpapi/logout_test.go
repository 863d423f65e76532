package httpapi

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessionbridge/sessionbridge/bridge"
)

func TestLogoutRoutes(t *testing.T) {
	const bc = "/v1/account/sessions/oauth2/backchannel/corp/default"
	form := []string{"Content-Type", "application/x-www-form-urlencoded"}
	oauthErr := func(code string) func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
		return func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if e := jsonOf(t, rec); e["error"] != code || e["error_description"] == "" || strings.Contains(rec.Body.String(), "lt-") {
				t.Errorf("body = %s, want error %s (and never the token)", rec.Body.String(), code)
			}
			if rec.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q", rec.Header().Get("Cache-Control"))
			}
		}
	}
	runRoutes(t, []routeCase{
		{name: "sign out without provider logout", req: request{method: "POST", path: "/v1/account/sessions/current/logout", as: "s1"}, status: 200, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if rec.Body.String() != `{"providerLogoutUrl":"","providerLogoutForm":null}`+"\n" || !cleared(rec, "a_session_default") {
				t.Errorf("body %s, cookie cleared %v", rec.Body.String(), cleared(rec, "a_session_default"))
			}
			if !h.svc.called("SignOut u1 s1 " + testPublic + "/?msg=signed_out") {
				t.Errorf("calls = %v", h.svc.calls)
			}
		}},
		{name: "sign out with provider logout", req: request{method: "POST", path: "/v1/account/sessions/s2/logout", as: "s1"}, setup: func(h *harness) {
			h.svc.logout = bridge.ProviderLogout{URL: "https://corp.example/logout?x=1", Action: "https://corp.example/logout", Params: map[string]string{"id_token_hint": "h"}}
		}, status: 200, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			m := jsonOf(t, rec)
			f, _ := m["providerLogoutForm"].(map[string]any)
			if m["providerLogoutUrl"] != "https://corp.example/logout?x=1" || f["action"] != "https://corp.example/logout" || f["params"].(map[string]any)["id_token_hint"] != "h" {
				t.Errorf("body = %v", m)
			}
			if cookie(rec, "a_session_default") != nil {
				t.Errorf("signing out another session cleared this one's cookie")
			}
		}},
		{name: "sign out unknown session", req: request{method: "POST", path: "/v1/account/sessions/s3/logout", as: "s1"}, status: 404, errTyp: "user_session_not_found"},
		{name: "sign out needs a session", req: request{method: "POST", path: "/v1/account/sessions/current/logout"}, status: 401, errTyp: "general_unauthorized_scope"},
		{name: "back-channel logout", req: request{method: "POST", path: bc, header: form, body: "logout_token=lt-7c1a"}, status: 200, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if !h.svc.called("BackchannelLogout corp lt-7c1a") || len(rec.Result().Cookies()) != 0 {
				t.Errorf("calls %v", h.svc.calls)
			}
		}},
		{name: "back-channel from another site is allowed", req: request{method: "POST", path: bc, header: append([]string{"Origin", "https://corp.example"}, form...), body: "logout_token=lt-7c1a"}, status: 200},
		{name: "back-channel wrong project", req: request{method: "POST", path: strings.Replace(bc, "/default", "/other", 1), header: form, body: "logout_token=lt-7c1a"}, status: 400, check: oauthErr("invalid_request")},
		{name: "back-channel JSON body", req: request{method: "POST", path: bc, body: `{"logout_token":"lt-7c1a"}`}, status: 400, check: oauthErr("invalid_request")},
		{name: "back-channel two tokens", req: request{method: "POST", path: bc, header: form, body: "logout_token=tok&logout_token=lt-9f2b"}, status: 400, check: oauthErr("invalid_request")},
		{name: "back-channel body too large", req: request{method: "POST", path: bc, header: form, body: "logout_token=" + strings.Repeat("t", maxLogoutBody)}, status: 400, check: oauthErr("invalid_request")},
		{name: "back-channel token refused", req: request{method: "POST", path: bc, header: form, body: "logout_token=lt-7c1a"}, setup: func(h *harness) {
			h.svc.fail["BackchannelLogout"] = &bridge.LogoutError{Reason: "bad signature"}
		}, status: 400, check: oauthErr("invalid_request")},
		{name: "back-channel keys unavailable", req: request{method: "POST", path: bc, header: form, body: "logout_token=lt-7c1a"}, setup: func(h *harness) {
			h.svc.fail["BackchannelLogout"] = &bridge.LogoutError{Reason: "keys unavailable", Unavailable: true}
		}, status: 503, check: oauthErr("temporarily_unavailable")},
		{name: "back-channel store down", req: request{method: "POST", path: bc, header: form, body: "logout_token=lt-7c1a"}, setup: func(h *harness) {
			h.svc.fail["BackchannelLogout"] = errors.New("store down")
		}, status: 500, check: oauthErr("server_error")},
	}, nil)
}
