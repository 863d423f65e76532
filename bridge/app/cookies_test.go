package app

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sessionbridge/sessionbridge/bridge/config"
)

// serve calls the bridge's handler directly (its public URL is not dialled).
func (h *harness) serve(t *testing.T, method, target string, cookies ...*http.Cookie) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	h.app.Handler.ServeHTTP(rec, req)
	return rec.Result()
}

func cookieNamed(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// TestCookieAttributesOnHTTPS runs a login against a bridge whose public
// URL is https with cookies.same_site=strict and cookies.domain set: every
// cookie is Secure, the session cookie carries the configured SameSite and
// Domain, the flow cookie is SameSite=None (it must survive the provider's
// cross-site return, form_post included), and cookies are cleared with the
// attributes they were set with.
func TestCookieAttributesOnHTTPS(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true, mutateConf: func(c *config.Config) {
		c.PublicURL = "https://bridge.example"
		c.RedirectAllowlist = []string{"https://app.example"}
		c.Cookies = config.Cookies{SameSite: "strict", Domain: "bridge.example"}
	}})
	start := h.serve(t, "GET", "https://bridge.example/v1/account/sessions/oauth2/corp?success=https://app.example/ok&failure=https://app.example/fail")
	bind, err := start.Location()
	if err != nil || bind.Host != "bridge.example" || len(start.Cookies()) != 0 {
		t.Fatalf("start: HTTP %d %v, %d cookies", start.StatusCode, bind, len(start.Cookies()))
	}
	hop := h.serve(t, "GET", bind.String())
	flow := cookieNamed(hop, "sb_flow")
	if flow == nil || !flow.Secure || !flow.HttpOnly || flow.SameSite != http.SameSiteNoneMode || flow.Path != "/" || flow.Domain != "" ||
		flow.MaxAge <= 0 || flow.MaxAge > 600 {
		t.Fatalf("flow cookie = %+v", flow)
	}
	authz, err := hop.Location()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", authz.String(), nil)
	cb, err := send(t, req).Location()
	if err != nil || cb.Host != "bridge.example" {
		t.Fatalf("issuer did not redirect to the callback: %v", cb)
	}
	done := h.serve(t, "GET", cb.String(), flow)
	if loc := done.Header.Get("Location"); loc != "https://app.example/ok" {
		t.Fatalf("callback: HTTP %d to %q", done.StatusCode, loc)
	}
	sess := cookieNamed(done, "a_session_default")
	if sess == nil || !sess.Secure || !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || sess.Domain != "bridge.example" || sess.Path != "/" {
		t.Fatalf("session cookie = %+v", sess)
	}
	clearedFlow := cookieNamed(done, "sb_flow")
	if clearedFlow == nil || clearedFlow.MaxAge >= 0 || !clearedFlow.Secure || clearedFlow.SameSite != http.SameSiteNoneMode || clearedFlow.Path != "/" {
		t.Fatalf("flow cookie not cleared with its attributes: %+v", clearedFlow)
	}

	out := h.serve(t, "DELETE", "https://bridge.example/v1/account/sessions/current", &http.Cookie{Name: sess.Name, Value: sess.Value})
	cleared := cookieNamed(out, "a_session_default")
	if out.StatusCode != 204 || cleared == nil || cleared.MaxAge >= 0 || cleared.Value != "" || !cleared.Secure ||
		cleared.SameSite != http.SameSiteStrictMode || cleared.Domain != "bridge.example" || cleared.Path != "/" || !cleared.HttpOnly {
		t.Fatalf("logout: HTTP %d clearing cookie %+v", out.StatusCode, cleared)
	}
}

// TestCookieAttributesOnHTTP: on a plain-http public URL no cookie is
// Secure and the flow cookie is Lax (browsers refuse None without Secure).
func TestCookieAttributesOnHTTP(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	req, _ := http.NewRequest("GET", h.startURL(appOrigin+"/ok", ""), nil)
	start := send(t, req)
	bind, _ := start.Location()
	req, _ = http.NewRequest("GET", bind.String(), nil)
	hop := send(t, req)
	flow := cookieNamed(hop.Response, "sb_flow")
	if flow == nil || flow.Secure || flow.SameSite != http.SameSiteLaxMode || !flow.HttpOnly {
		t.Fatalf("flow cookie = %+v", flow)
	}
	resp := h.login(t, h.browser())
	if c := cookieNamed(resp, "a_session_default"); c == nil || c.Secure || c.SameSite != http.SameSiteLaxMode || c.Domain != "" {
		t.Fatalf("session cookie = %+v", c)
	}
}
