package httpapi

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessionbridge/sessionbridge/bridge"
	"github.com/sessionbridge/sessionbridge/bridge/lifecycle"
)

func TestAccountPages(t *testing.T) {
	page := func(wants ...string) func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
		return func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") || rec.Header().Get("X-Frame-Options") != "DENY" {
				t.Errorf("headers = %v", rec.Header())
			}
			for _, want := range wants {
				if !strings.Contains(rec.Body.String(), want) {
					t.Errorf("the page lacks %q:\n%s", want, rec.Body.String())
				}
			}
		}
	}
	redirect := func(to string, calls ...string) func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
		return func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if loc := rec.Header().Get("Location"); loc != to {
				t.Errorf("Location = %q, want %q", loc, to)
			}
			for _, c := range calls {
				if !h.svc.called(c) {
					t.Errorf("no call %q in %v", c, h.svc.calls)
				}
			}
		}
	}
	runRoutes(t, []routeCase{
		{name: "account page", req: request{path: "/account", as: "s1"}, status: 200,
			check: page(`id="user-name">Ada Lovelace<`, `id="user-email">ada@example.com<`, `aria-hidden="true">AL<`, `id="session-s1"`, `id="session-s2"`,
				`id="this-device"`, `<dd class="provider">Corp SSO</dd>`, `id="signout-others"`)},
		{name: "account page asks before a revoke", req: request{path: "/account?revoke=s2", as: "s1"}, status: 200,
			check: page(`action="/account/sessions/s2/revoke" role="group" aria-labelledby="confirm-s2">`)},
		{name: "account page message", req: request{path: "/account?msg=revoked_one", as: "s1"}, status: 200, check: page(`id="notice"`, `role="status"`)},
		{name: "account page user lookup fails", req: request{path: "/account", as: "s1", header: []string{"Accept", browserAccept}},
			setup: func(h *harness) { h.svc.fail["User"] = errFakeStoreDown }, status: 500, check: page(`id="error-message"`, "general_server_error")},
		{name: "account page list fails", req: request{path: "/account", as: "s1"},
			setup: func(h *harness) { h.svc.fail["Sessions"] = errFakeStoreDown }, status: 500},
		{name: "account page while the store is down", req: request{path: "/account", as: "s1"},
			setup: func(h *harness) { h.svc.fail["Authenticate"] = errFakeStoreDown }, status: 500, check: page(`id="error-message"`)},
		{name: "sign out", req: request{method: "POST", path: "/account/sign-out", as: "s1"}, status: 303, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			redirect("/?msg=signed_out", "SignOut u1 s1 "+testPublic+"/?msg=signed_out")(t, h, rec)
			if !cleared(rec, "a_session_default") {
				t.Errorf("cookie not cleared")
			}
		}},
		{name: "sign out of an ended session", req: request{method: "POST", path: "/account/sign-out", as: "s1"},
			setup: func(h *harness) { h.svc.fail["SignOut"] = bridge.ErrSessionNotFound() }, status: 303, check: redirect("/?msg=signed_out")},
		{name: "sign out fails", req: request{method: "POST", path: "/account/sign-out", as: "s1"},
			setup: func(h *harness) { h.svc.fail["SignOut"] = errFakeStoreDown }, status: 500},
		{name: "sign out at the provider too", req: request{method: "POST", path: "/account/sign-out", as: "s2"}, setup: func(h *harness) {
			h.svc.logout = bridge.ProviderLogout{Action: "https://corp.example/logout", Params: map[string]string{"id_token_hint": "hint"}}
			h.svc.logoutOrigin = "https://corp.example"
		}, status: 200, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			page(`action="https://corp.example/logout"`, `name="id_token_hint" value="hint"`, "Corp SSO")(t, h, rec)
			if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' https://corp.example") {
				t.Errorf("CSP = %q", csp)
			}
			if !cleared(rec, "a_session_default") {
				t.Errorf("cookie not cleared")
			}
		}},
		{name: "revoke another session", req: request{method: "POST", path: "/account/sessions/s2/revoke", as: "s1"}, status: 303,
			check: redirect("/account?msg=revoked_one", "DeleteSession u1 s2 "+string(lifecycle.SignedOut))},
		{name: "revoke this session is not done here", req: request{method: "POST", path: "/account/sessions/s1/revoke", as: "s1"}, status: 303,
			check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
				redirect("/account")(t, h, rec)
				if h.svc.called("DeleteSession u1 s1 " + string(lifecycle.SignedOut)) {
					t.Errorf("the current session was revoked")
				}
			}},
		{name: "revoke a session that is gone", req: request{method: "POST", path: "/account/sessions/s3/revoke", as: "s1"}, status: 303, check: redirect("/account?msg=revoke_failed")},
		{name: "revoke fails", req: request{method: "POST", path: "/account/sessions/s2/revoke", as: "s1"},
			setup: func(h *harness) { h.svc.fail["DeleteSession"] = errFakeStoreDown }, status: 500},
		{name: "sign out the others", req: request{method: "POST", path: "/account/sign-out-others", as: "s1"}, status: 303, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			redirect("/account?msg=others_signed_out", "DeleteSession u1 s2 "+string(lifecycle.SignedOut))(t, h, rec)
			if _, ok := h.svc.sessions["s1"]; !ok {
				t.Errorf("the current session was ended too")
			}
		}},
		{name: "sign out the others, list fails", req: request{method: "POST", path: "/account/sign-out-others", as: "s1"},
			setup: func(h *harness) { h.svc.fail["Sessions"] = errFakeStoreDown }, status: 500},
		{name: "sign out the others, delete fails", req: request{method: "POST", path: "/account/sign-out-others", as: "s1"},
			setup: func(h *harness) { h.svc.fail["DeleteSession"] = errFakeStoreDown }, status: 500},
		{name: "cross-site form refused", req: request{method: "POST", path: "/account/sign-out", as: "s1", header: []string{"Sec-Fetch-Site", "cross-site"}}, status: 403},
	}, nil)
}
