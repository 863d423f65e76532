package app

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sessionbridge/sessionbridge/bridge/config"
	"github.com/sessionbridge/sessionbridge/providers/oidc"
)

// enableRPLogout turns rp_initiated_logout on for provider corp.
func enableRPLogout(c *config.Config) {
	c.Providers["corp"].Config.(*oidc.Config).RPInitiatedLogout = true
}

// signOutForURL calls POST /v1/account/sessions/current/logout and returns
// the status and the provider logout URL.
func (h *harness) signOutForURL(t testing.TB, value string) (int, string) {
	t.Helper()
	status, body := h.api(t, "POST", "/v1/account/sessions/current/logout", value, nil)
	u, _ := body["providerLogoutUrl"].(string)
	return status, u
}

// pageCSP fetches a page with the session cookie (a same-origin POST when
// method is POST) and returns its status, Content-Security-Policy and body.
func (h *harness) pageCSP(t testing.TB, method, path, value string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(method, h.srv.URL+path, nil)
	req.AddCookie(&http.Cookie{Name: "a_session_default", Value: value})
	if method == http.MethodPost {
		req.Header.Set("Origin", h.srv.URL)
	}
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Security-Policy"), string(body)
}

// TestSignOutPagePostsToTheProvider: the account page itself posts only to
// its own origin; its Sign out ends the session and answers a page whose
// form goes to the provider's end_session_endpoint, which that page's CSP
// allows for the provider's origin only.
func TestSignOutPagePostsToTheProvider(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true, mutateConf: enableRPLogout})
	value, _ := h.loginSession(t)
	status, csp, _ := h.pageCSP(t, http.MethodGet, "/account", value)
	if status != http.StatusOK || !strings.HasSuffix(csp, "form-action 'self'") {
		t.Errorf("account page: HTTP %d, CSP %q; want form-action 'self' only", status, csp)
	}
	status, csp, body := h.pageCSP(t, http.MethodPost, "/account/sign-out", value)
	if status != http.StatusOK || !strings.HasSuffix(csp, "form-action 'self' "+h.iss.URL()) {
		t.Errorf("sign-out page: HTTP %d, CSP %q; want form-action 'self' %s", status, csp, h.iss.URL())
	}
	if !strings.Contains(body, `action="`+h.iss.URL()+`/end_session"`) || !strings.Contains(body, `name="id_token_hint"`) {
		t.Errorf("sign-out page has no form to the provider's end_session_endpoint:\n%s", body)
	}
	if h.alive(t, value) {
		t.Fatal("the session still authenticates after Sign out")
	}
}

func TestRPInitiatedLogoutURL(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true, mutateConf: enableRPLogout})
	value, sub := h.loginSession(t)
	status, body := h.api(t, "POST", "/v1/account/sessions/current/logout", value, nil)
	form, _ := body["providerLogoutForm"].(map[string]any)
	params, _ := form["params"].(map[string]any)
	if status != http.StatusOK || form["action"] != h.iss.URL()+"/end_session" || params["id_token_hint"] == nil ||
		params["client_id"] != "bridge-client" || params["post_logout_redirect_uri"] != h.srv.URL+"/?msg=signed_out" || params["state"] == nil {
		t.Fatalf("sign out: HTTP %d, providerLogoutForm action %v, params %v", status, form["action"], len(params))
	}
	raw, _ := body["providerLogoutUrl"].(string)
	if raw == "" {
		t.Fatal("no provider logout URL")
	}
	if h.alive(t, value) {
		t.Fatal("the session still authenticates after sign-out")
	}
	u, err := url.Parse(raw)
	if err != nil || !strings.HasPrefix(raw, h.iss.URL()+"/end_session?") {
		t.Fatalf("provider logout URL %q is not the provider's end_session_endpoint", raw)
	}
	q := u.Query()
	if q.Get("id_token_hint") == "" || q.Get("client_id") != "bridge-client" || q.Get("state") == "" ||
		q.Get("post_logout_redirect_uri") != h.srv.URL+"/?msg=signed_out" {
		t.Fatalf("end-session parameters: %v", redactHint(q))
	}
	// The browser goes there; the provider signs the user out and sends
	// it back to the login page with the signed-out message.
	b := h.browser()
	resp := b.get(t, raw)
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/" || resp.Request.URL.Query().Get("msg") != "signed_out" {
		t.Fatalf("return from the provider: HTTP %d at %s", resp.StatusCode, resp.Request.URL.Redacted())
	}
	ends := h.iss.EndSessions()
	if len(ends) != 1 || ends[0].IDTokenHintSub != sub || ends[0].IDTokenHintSID != h.iss.SessionIDs(sub)[0] {
		t.Fatalf("the provider's end-session requests: %+v", ends)
	}
}

func redactHint(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = v
	}
	if out.Has("id_token_hint") {
		out.Set("id_token_hint", "[set]")
	}
	return out
}

func TestRPInitiatedLogoutIsOffByDefault(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	value, _ := h.loginSession(t)
	if _, csp, _ := h.pageCSP(t, http.MethodGet, "/account", value); !strings.Contains(csp, "form-action 'self'") || strings.Contains(csp, h.iss.URL()) {
		t.Errorf("account page CSP %q: want form-action 'self' only", csp)
	}
	status, raw := h.signOutForURL(t, value)
	if status != http.StatusOK || raw != "" {
		t.Fatalf("sign out without rp_initiated_logout: HTTP %d, URL %q; want 200 and no URL", status, raw)
	}
	if h.alive(t, value) {
		t.Fatal("the session still authenticates after sign-out")
	}
}

func TestDeleteCurrentSessionStays204WithRPLogout(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true, mutateConf: enableRPLogout})
	value, _ := h.loginSession(t)
	req, _ := http.NewRequest("DELETE", h.srv.URL+"/v1/account/sessions/current", nil)
	req.Header.Set("X-Appwrite-Session", value)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE current: HTTP %d, want 204", resp.StatusCode)
	}
	if len(h.iss.EndSessions()) != 0 {
		t.Fatal("DELETE reached the provider's end_session_endpoint")
	}
}

func TestSignOutRouteNeedsASession(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true, mutateConf: enableRPLogout})
	status, body := h.api(t, "POST", "/v1/account/sessions/current/logout", "", nil)
	if status != http.StatusUnauthorized {
		b, _ := json.Marshal(body)
		t.Fatalf("without a session: HTTP %d %s, want 401", status, b)
	}
	// GET never signs anyone out.
	value, _ := h.loginSession(t)
	if status, _ := h.api(t, "GET", "/v1/account/sessions/current/logout", value, nil); status == http.StatusOK {
		t.Fatal("GET .../logout answered 200")
	}
	if !h.alive(t, value) {
		t.Fatal("a GET ended the session")
	}
}
