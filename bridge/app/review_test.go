package app

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sessionbridge/sessionbridge/bridge/config"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testissuer"
)

// authorizeURL follows a login start in browser b up to the provider's
// authorization URL and returns it.
func (h *harness) authorizeURL(t *testing.T, b *browser, start string) *url.URL {
	t.Helper()
	resp := send(t, h.request("GET", strings.TrimPrefix(start, h.srv.URL), nil))
	bind, err := resp.Location()
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("start: HTTP %d %v", resp.StatusCode, bind)
	}
	req, _ := http.NewRequest("GET", bind.String(), nil)
	r, err := rawClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	loc, err := r.Location()
	if err != nil {
		t.Fatalf("bind: HTTP %d, no Location", r.StatusCode)
	}
	return loc
}

// The Appwrite SDKs flatten scopes into scopes[0], scopes[1], ...: those
// scopes must reach the provider, as must scopes[] and repeated scopes.
func TestScopesInEverySDKShape(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	b := h.browser()
	for name, query := range map[string]string{
		"indexed (SDK flatten)": "scopes%5B0%5D=offline_access&scopes%5B1%5D=extra.read",
		"brackets":              "scopes%5B%5D=offline_access&scopes%5B%5D=extra.read",
	} {
		t.Run(name, func(t *testing.T) {
			auth := h.authorizeURL(t, b, h.startURL(appOrigin+"/ok", appOrigin+"/fail")+"&"+query)
			scope := " " + auth.Query().Get("scope") + " "
			for _, want := range []string{"offline_access", "extra.read"} {
				if !strings.Contains(scope, " "+want+" ") {
					t.Errorf("scope %q lacks %q", scope, want)
				}
			}
		})
	}
}

// A browser SDK keeps its X-Fallback-Cookies value in localStorage; when
// that session has ended, a fresh session cookie must still authenticate
// (Appwrite reads the cookie first), and a stale cookie must not hide a
// good X-Appwrite-Session.
func TestStaleCredentialDoesNotHideAGoodOne(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	_, stale := h.loggedIn(t)
	if status, _ := h.api(t, "DELETE", "/v1/account/sessions/current", stale, nil); status != http.StatusNoContent {
		t.Fatalf("logout: %d", status)
	}
	_, fresh := h.loggedIn(t)
	fallback := `{"a_session_default":"` + stale + `"}`
	for name, headers := range map[string][]string{
		"stale fallback, good cookie":   {"X-Fallback-Cookies", fallback, "Cookie", "a_session_default=" + fresh},
		"stale cookie, good header":     {"Cookie", "a_session_default=" + stale, "X-Appwrite-Session", fresh},
		"garbage cookie, good fallback": {"Cookie", "a_session_default=garbage", "X-Fallback-Cookies", `{"a_session_default":"` + fresh + `"}`},
	} {
		t.Run(name, func(t *testing.T) {
			r := send(t, h.request("GET", "/v1/account/sessions/current", nil, headers...))
			if r.StatusCode != http.StatusOK || r.json["current"] != true {
				t.Fatalf("HTTP %d %v", r.StatusCode, r.json)
			}
		})
	}
	r := send(t, h.request("GET", "/v1/account", nil, "X-Fallback-Cookies", fallback, "Cookie", "a_session_default="+stale))
	wantError(t, r, http.StatusUnauthorized, "general_unauthorized_scope")
}

// The token flow's callback sets no cookie at all, and its state cannot be
// replayed even though the consumed flow stays in the browser's cookie.
func TestTokenCallbackSetsNoCookie(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	b := h.browser()
	b.StopAtCallback = true
	q := url.Values{"success": {appOrigin + "/done"}, "failure": {appOrigin + "/fail"}}
	resp := b.get(t, h.srv.URL+"/v1/account/tokens/oauth2/corp?"+q.Encode())
	cb, err := resp.Location()
	if err != nil || !strings.Contains(cb.Path, "/oauth2/callback/") {
		t.Fatalf("want the callback, got HTTP %d %v", resp.StatusCode, cb)
	}
	b.StopAtCallback = false
	resp = b.get(t, cb.String())
	if loc, _ := resp.Location(); loc == nil || loc.Path != "/done" || loc.Query().Get("secret") == "" {
		t.Fatalf("token callback: HTTP %d %v", resp.StatusCode, loc)
	}
	if sc := resp.Header.Values("Set-Cookie"); len(sc) != 0 {
		t.Errorf("token callback set cookies: %d", len(sc))
	}
	before := h.iss.Stats().TokenRequests
	e := failureOf(t, b.get(t, cb.String()))
	if e["type"] != "general_argument_invalid" || h.iss.Stats().TokenRequests != before {
		t.Errorf("replay: error %v, token requests %d", e, h.iss.Stats().TokenRequests-before)
	}
}

// A provider error code that is not a well-formed RFC 6749 code is not
// repeated in the failure URL (it could carry anything the provider chose).
func TestMalformedProviderErrorCodeNotEchoed(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	h.iss.SetFaults(testissuer.Faults{TokenError: "<b>leak code=abcdefgh1234</b>"})
	e := failureOf(t, h.login(t, h.browser()))
	msg, _ := e["message"].(string)
	if strings.Contains(msg, "leak") || strings.Contains(msg, "<b>") || !strings.Contains(msg, "unknown_error") {
		t.Fatalf("message = %q", msg)
	}
	h.iss.SetFaults(testissuer.Faults{TokenError: "invalid_grant"})
	e = failureOf(t, h.login(t, h.browser()))
	if msg, _ := e["message"].(string); !strings.Contains(msg, "invalid_grant") {
		t.Fatalf("a well-formed code is named: %q", msg)
	}
}

// The session cookie is named a_session_<project> exactly, as the browser
// SDK looks it up in X-Fallback-Cookies, and a callback naming another
// project goes to the failure URL.
func TestCookieNameKeepsProjectCase(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true, mutateConf: func(c *config.Config) { c.Project = "MyProj" }})
	b := h.browser()
	q := url.Values{"success": {appOrigin + "/ok"}, "failure": {appOrigin + "/fail"}}
	b.get(t, h.srv.URL+"/v1/account/sessions/oauth2/corp?"+q.Encode())
	u, _ := url.Parse(h.srv.URL)
	var value string
	for _, c := range b.Jar.Cookies(u) {
		if c.Name == "a_session_MyProj" {
			value = c.Value
		}
	}
	if value == "" {
		t.Fatal("no a_session_MyProj cookie after login")
	}
	fb, _ := json.Marshal(map[string]string{"a_session_MyProj": value})
	r := send(t, h.request("GET", "/v1/account", nil, "X-Fallback-Cookies", string(fb), "X-Appwrite-Project", "MyProj"))
	if r.StatusCode != http.StatusOK {
		t.Fatalf("fallback with the exact name: HTTP %d %v", r.StatusCode, r.json)
	}

	b.StopAtCallback = true
	resp := b.get(t, h.srv.URL+"/v1/account/sessions/oauth2/corp?"+q.Encode())
	cb, err := resp.Location()
	if err != nil {
		t.Fatal(err)
	}
	cb.Path = strings.Replace(cb.Path, "/MyProj", "/other", 1)
	b.StopAtCallback = false
	if e := failureOf(t, b.get(t, cb.String())); e["type"] != "project_not_found" {
		t.Fatalf("error = %v", e)
	}
}
