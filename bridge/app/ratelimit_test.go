package app

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/config"
	"github.com/sessionbridge/sessionbridge/bridge/httpapi"
)

// wantLimitHeaders checks the X-RateLimit-* headers and returns Remaining.
func wantLimitHeaders(t *testing.T, r reply, limit int) int {
	t.Helper()
	if got := r.Header.Get("X-RateLimit-Limit"); got != strconv.Itoa(limit) {
		t.Fatalf("X-RateLimit-Limit = %q, want %d", got, limit)
	}
	remaining, err := strconv.Atoi(r.Header.Get("X-RateLimit-Remaining"))
	if err != nil || remaining < 0 || remaining > limit {
		t.Fatalf("X-RateLimit-Remaining = %q", r.Header.Get("X-RateLimit-Remaining"))
	}
	reset, err := strconv.ParseInt(r.Header.Get("X-RateLimit-Reset"), 10, 64)
	now := time.Now().Unix()
	if err != nil || reset < now || reset > now+3601 {
		t.Fatalf("X-RateLimit-Reset = %q (now %d)", r.Header.Get("X-RateLimit-Reset"), now)
	}
	return remaining
}

// TestConfiguredRateLimits sets Appwrite's own budgets in rate_limits (50
// OAuth2 starts per hour per IP, 10 token redemptions per IP and user) and
// hits them.
func TestConfiguredRateLimits(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true, mutateConf: func(c *config.Config) {
		c.RateLimits = config.RateLimits{Window: time.Hour, Login: 50, Token: 10}
		c.TrustedProxies = []string{"127.0.0.1/32"} // the test client plays a same-host proxy
	}})
	start := "/v1/account/sessions/oauth2/corp?success=" + appOrigin + "/ok"
	for i := 1; i <= 50; i++ {
		r := send(t, h.request("GET", start, nil))
		if r.StatusCode != http.StatusFound {
			t.Fatalf("start %d: HTTP %d", i, r.StatusCode)
		}
		if rem := wantLimitHeaders(t, r, 50); rem != 50-i {
			t.Fatalf("start %d: remaining %d", i, rem)
		}
	}
	r := send(t, h.request("GET", start, nil, "Accept", "application/json"))
	wantError(t, r, 429, "general_rate_limit_exceeded")
	if wantLimitHeaders(t, r, 50) != 0 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("refused start headers: %v", r.Header)
	}
	page := send(t, h.request("GET", start, nil, "Accept", "text/html"))
	if page.StatusCode != 429 || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("browser: HTTP %d %s", page.StatusCode, page.Header.Get("Content-Type"))
	}
	// Another client (behind the same-host proxy) and the token start route
	// have their own budgets; an API key is not limited.
	if r := send(t, h.request("GET", start, nil, "X-Forwarded-For", "203.0.113.9")); r.StatusCode != 302 || wantLimitHeaders(t, r, 50) != 49 {
		t.Fatalf("another client: HTTP %d", r.StatusCode)
	}
	if r := send(t, h.request("GET", "/v1/account/tokens/oauth2/corp", nil)); r.StatusCode != 302 {
		t.Fatalf("token start: HTTP %d", r.StatusCode)
	}
	keyed := send(t, h.request("GET", start, nil, "X-Appwrite-Key", "api-key-secret-0123456789"))
	if keyed.StatusCode != 302 || keyed.Header.Get("X-RateLimit-Limit") != "" {
		t.Fatalf("API key: HTTP %d limit %q", keyed.StatusCode, keyed.Header.Get("X-RateLimit-Limit"))
	}

	for i := 1; i <= 10; i++ {
		r := send(t, h.request("POST", "/v1/account/sessions/token", tokenBody("u1", "wrong"), "Content-Type", "application/json"))
		wantError(t, r, 401, "user_invalid_token")
		if rem := wantLimitHeaders(t, r, 10); rem != 10-i {
			t.Fatalf("token %d: remaining %d", i, rem)
		}
	}
	r = send(t, h.request("POST", "/v1/account/sessions/token", tokenBody("u1", "wrong"), "Content-Type", "application/json"))
	wantError(t, r, 429, "general_rate_limit_exceeded")
	wantLimitHeaders(t, r, 10)
	// Another user from the same address is counted apart, as in Appwrite.
	r = send(t, h.request("POST", "/v1/account/sessions/token", tokenBody("u2", "wrong"), "Content-Type", "application/json"))
	wantError(t, r, 401, "user_invalid_token")
}

// TestCallbackRateLimit exhausts a small callback budget on a second
// instance: the refused callback sends the browser to its failure URL and
// makes no token request.
func TestCallbackRateLimit(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	limited := h.second(t, Options{RateLimits: httpapi.RateLimits{Callback: httpapi.RateLimit{Limit: 1, Window: time.Hour}}})
	b := h.browser()
	cb := h.callbackURL(t, b)
	other, _ := http.NewRequest("GET", limited.URL+"/v1/account/sessions/oauth2/callback/corp/default?state=x&code=y", nil)
	first := send(t, other) // no flow cookie: refused, but counted
	if first.StatusCode != 400 || first.Header.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("first callback: HTTP %d remaining %q", first.StatusCode, first.Header.Get("X-RateLimit-Remaining"))
	}
	// The browser's real callback, sent to the limited instance (cookies
	// are per host, not per port, so the flow cookie goes along).
	u := *cb
	u.Host = strings.TrimPrefix(limited.URL, "http://")
	before := h.iss.Stats().TokenRequests
	b.StopAtCallback = true
	resp := b.get(t, u.String())
	e := failureOf(t, resp)
	if e["type"] != "general_rate_limit_exceeded" || e["code"] != float64(429) {
		t.Fatalf("failure error = %v", e)
	}
	if resp.Header.Get("X-RateLimit-Limit") != "1" || resp.Header.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("headers: %v", resp.Header)
	}
	if h.iss.Stats().TokenRequests != before || h.countSessions(t) != 0 {
		t.Fatal("a rate-limited callback reached the token endpoint or made a session")
	}
	// The login was not consumed: the unlimited instance can still finish it.
	if resp := b.get(t, cb.String()); resp.StatusCode != 302 || resp.Header.Get("Location") != appOrigin+"/ok" {
		t.Fatalf("finishing on the first instance: HTTP %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Negative limits turn limiting off.
	off := h.second(t, Options{RateLimits: httpapi.RateLimits{SessionStart: httpapi.RateLimit{Limit: -1}}})
	for i := 0; i < 60; i++ {
		req, _ := http.NewRequest("GET", off.URL+"/v1/account/sessions/oauth2/corp", nil)
		r := send(t, req)
		if r.StatusCode != 302 || r.Header.Get("X-RateLimit-Limit") != "" {
			t.Fatalf("unlimited start %d: HTTP %d limit %q", i, r.StatusCode, r.Header.Get("X-RateLimit-Limit"))
		}
	}
}
