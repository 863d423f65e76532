package httpapi

import (
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/sessionbridge/sessionbridge/bridge"
)

// navigate are the headers of a browser's own top-level navigation.
var navigate = []string{"Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document", "Accept", browserAccept}

// login starts a login the way a browser does and returns the flow cookie
// and the state the provider would send back.
func (h *harness) login(t *testing.T, path string) (*http.Cookie, string) {
	t.Helper()
	rec := h.do(request{path: path, header: navigate})
	if rec.Code != http.StatusFound {
		t.Fatalf("start %s: %d %s", path, rec.Code, rec.Body.String())
	}
	loc, _ := url.Parse(rec.Header().Get("Location"))
	flow := cookie(rec, flowCookieName)
	if loc.Host != "idp.example" || flow == nil {
		t.Fatalf("start %s: Location %s, flow cookie %v", path, loc, flow)
	}
	return flow, loc.Query().Get("state")
}

// failureError decodes the error a failure URL carries.
func failureError(t *testing.T, rec *httptest.ResponseRecorder, prefix string) map[string]any {
	t.Helper()
	loc := rec.Header().Get("Location")
	if !strings.HasPrefix(loc, prefix) {
		t.Fatalf("Location = %q, want the failure URL %s", loc, prefix)
	}
	u, _ := url.Parse(loc)
	var e map[string]any
	if err := json.Unmarshal([]byte(u.Query().Get("error")), &e); err != nil {
		t.Fatalf("error param %q: %v", u.Query().Get("error"), err)
	}
	if len(e) != 3 {
		t.Errorf("error = %v, want message, type and code", e)
	}
	return e
}

func TestLoginStart(t *testing.T) {
	const failure = appOrigin + "/failed"
	runRoutes(t, []routeCase{
		{name: "SDK start goes through the bind hop", req: request{path: "/v1/account/sessions/oauth2/gh?failure=" + url.QueryEscape(failure)}, status: 302, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if loc := rec.Header().Get("Location"); loc != testPublic+"/v1/oauth2/bind/handle1" {
				t.Errorf("Location = %s", loc)
			}
			if start := h.svc.starts["handle1"]; start.Success != testPublic+"/account" || start.Failure != failure || start.Mode != bridge.ModeSession {
				t.Errorf("start = %+v (default success is the account page)", start)
			}
			if cookie(rec, flowCookieName) != nil {
				t.Errorf("the fetched start sets the flow cookie")
			}
		}},
		{name: "navigation binds at once", req: request{path: "/v1/account/sessions/oauth2/gh?success=" + url.QueryEscape(appOrigin+"/ok"), header: navigate}, status: 302, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			c := cookie(rec, flowCookieName)
			if !strings.HasPrefix(rec.Header().Get("Location"), "https://idp.example/authorize?state=") || c == nil ||
				!c.HttpOnly || c.Secure || c.SameSite != http.SameSiteLaxMode || c.MaxAge != flowCookieMaxAge {
				t.Errorf("Location %s, flow cookie %+v", rec.Header().Get("Location"), c)
			}
			if rec.Header().Get("Cache-Control") != "no-store" || !h.svc.called("BeginBoundLogin gh session") {
				t.Errorf("headers %v, calls %v", rec.Header(), h.svc.calls)
			}
		}},
		{name: "token mode never skips the hop", req: request{path: "/v1/account/tokens/oauth2/gh", header: navigate}, status: 302, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if !h.svc.called("BeginLogin gh token") || cookie(rec, flowCookieName) != nil {
				t.Errorf("calls %v", h.svc.calls)
			}
		}},
		{name: "scopes in SDK shape", req: request{path: "/v1/account/sessions/oauth2/gh?scopes%5B0%5D=repo&scopes%5B1%5D=user"}, status: 302, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if got := strings.Join(h.svc.starts["handle1"].Scopes, ","); got != "repo,user" {
				t.Errorf("scopes = %s", got)
			}
		}},
		{name: "failure outside the allowlist, JSON", req: request{path: "/v1/account/sessions/oauth2/gh?failure=https://evil.example/", header: []string{"Accept", "application/json"}}, status: 400, errTyp: "general_argument_invalid", check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if len(h.svc.calls) != 0 {
				t.Errorf("a refused start reached the domain: %v", h.svc.calls)
			}
		}},
		{name: "success outside the allowlist, browser", req: request{path: "/v1/account/sessions/oauth2/gh?success=https://evil.example/", header: navigate}, status: 400, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") || !strings.Contains(rec.Body.String(), "general_argument_invalid") {
				t.Errorf("want the error page: %s", rec.Body.String())
			}
		}},
		{name: "URL too long", req: request{path: "/v1/account/sessions/oauth2/gh?success=" + url.QueryEscape(appOrigin+"/"+strings.Repeat("a", maxRedirectURL))}, status: 400, errTyp: "general_argument_invalid"},
		{name: "too many scopes", req: request{path: "/v1/account/sessions/oauth2/gh?" + strings.Repeat("scopes=a&", maxScopes+1)}, status: 400, errTyp: "general_argument_invalid"},
		{name: "scope too long", req: request{path: "/v1/account/sessions/oauth2/gh?scopes=" + strings.Repeat("a", maxScope+1)}, status: 400, errTyp: "general_argument_invalid"},
		{name: "scopes too long in all", req: request{path: "/v1/account/sessions/oauth2/gh?" + strings.Repeat("scopes="+strings.Repeat("a", 200)+"&", 21)}, status: 400, errTyp: "general_argument_invalid"},
		{name: "unknown provider", req: request{path: "/v1/account/sessions/oauth2/nope"}, status: 412, errTyp: "project_provider_disabled"},
		{name: "unknown provider, navigation", req: request{path: "/v1/account/sessions/oauth2/nope", header: navigate}, status: 412, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
				t.Errorf("want a page, got %s", rec.Header().Get("Content-Type"))
			}
		}},
		{name: "bind", req: request{path: "/v1/oauth2/bind/handle1"}, setup: func(h *harness) {
			h.svc.starts["handle1"] = bridge.LoginStart{Provider: "gh", Mode: bridge.ModeSession, Success: appOrigin}
		}, status: 302, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if !strings.HasPrefix(rec.Header().Get("Location"), "https://idp.example/authorize?state=") || cookie(rec, flowCookieName) == nil {
				t.Errorf("Location %s", rec.Header().Get("Location"))
			}
		}},
		{name: "bind unknown handle", req: request{path: "/v1/oauth2/bind/nope", header: []string{"Accept", browserAccept}}, status: 400, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if !strings.Contains(rec.Body.String(), `id="login-gh"`) || cookie(rec, flowCookieName) != nil {
				t.Errorf("want the login page again, no flow cookie:\n%s", rec.Body.String())
			}
		}},
	}, nil)
}

func TestLoginStartRateLimit(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.RateLimits.SessionStart = RateLimit{Limit: 1} })
	if rec := h.do(request{path: "/v1/account/sessions/oauth2/gh"}); rec.Code != 302 || rec.Header().Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("first: %d %v", rec.Code, rec.Header())
	}
	rec := h.do(request{path: "/v1/account/sessions/oauth2/gh"})
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "3600" || jsonOf(t, rec)["type"] != "general_rate_limit_exceeded" {
		t.Errorf("second: %d %v %s", rec.Code, rec.Header(), rec.Body.String())
	}
	// An API key is not limited; the token start has its own budget.
	if rec := h.do(request{path: "/v1/account/sessions/oauth2/gh", key: keyReadOnly}); rec.Code != 302 || rec.Header().Get("X-RateLimit-Limit") != "" {
		t.Errorf("with an API key: %d %v", rec.Code, rec.Header())
	}
	if rec := h.do(request{path: "/v1/account/tokens/oauth2/gh"}); rec.Code != 302 {
		t.Errorf("token start: %d", rec.Code)
	}
}

func TestCallback(t *testing.T) {
	const failure = appOrigin + "/failed"
	cb := func(state string, extra ...string) string {
		q := url.Values{"state": {state}, "code": {"code"}}
		for i := 0; i+1 < len(extra); i += 2 {
			q.Set(extra[i], extra[i+1])
		}
		return "/v1/account/sessions/oauth2/callback/gh/default?" + q.Encode()
	}
	t.Run("session", func(t *testing.T) {
		h := newHarness(t, nil)
		flow, state := h.login(t, "/v1/account/sessions/oauth2/gh?success="+url.QueryEscape(appOrigin+"/home"))
		rec := h.do(request{path: cb(state, "iss", "https://idp.example"), cookies: []*http.Cookie{flow}})
		if rec.Code != 302 || rec.Header().Get("Location") != appOrigin+"/home" || rec.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("%d %v", rec.Code, rec.Header())
		}
		sc := cookie(rec, "a_session_default")
		cred, ok := h.srv.codec.decode(sc.Value)
		if !ok || cred.SessionID != "login2" || !sc.Expires.Equal(h.svc.sessions["login2"].Expire) {
			t.Errorf("session cookie %+v → %v", sc, cred)
		}
		if !cleared(rec, flowCookieName) {
			t.Errorf("the finished flow stays in the cookie")
		}
		if in := h.svc.callback; in.Code != "code" || !in.HasIss || in.Iss != "https://idp.example" || in.Provider != "gh" {
			t.Errorf("callback input = %+v", in)
		}
		// The state is single use: a replay fails (no flow in the cookie now).
		rec = h.do(request{path: cb(state), header: []string{"Accept", browserAccept}})
		if rec.Code != 400 || cookie(rec, "a_session_default") != nil {
			t.Errorf("replay: %d", rec.Code)
		}
	})
	t.Run("token mode", func(t *testing.T) {
		h := newHarness(t, nil)
		rec := h.do(request{path: "/v1/account/tokens/oauth2/gh?success=" + url.QueryEscape(appOrigin+"/t?x=1")})
		rec = h.do(request{path: strings.TrimPrefix(rec.Header().Get("Location"), testPublic)})
		flow := cookie(rec, flowCookieName)
		state, _ := url.Parse(rec.Header().Get("Location"))
		rec = h.do(request{path: cb(state.Query().Get("state")), cookies: []*http.Cookie{flow}})
		loc, _ := url.Parse(rec.Header().Get("Location"))
		if rec.Code != 302 || loc.Query().Get("userId") != "u1" || loc.Query().Get("secret") != "token-secret" || loc.Query().Get("x") != "1" {
			t.Fatalf("%d %s", rec.Code, loc)
		}
		if len(rec.Result().Cookies()) != 0 {
			t.Errorf("token mode sets cookies: %v", rec.Result().Cookies())
		}
	})
	t.Run("form_post", func(t *testing.T) {
		h := newHarness(t, nil)
		flow, state := h.login(t, "/v1/account/sessions/oauth2/gh")
		r := httptest.NewRequest(http.MethodPost, "/v1/account/sessions/oauth2/callback/gh/default", strings.NewReader(url.Values{"state": {state}, "code": {"c"}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Origin", "https://appleid.apple.com")
		r.AddCookie(flow)
		rec := httptest.NewRecorder()
		h.srv.ServeHTTP(rec, r)
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != testPublic+"/account" || h.svc.callback.Code != "c" {
			t.Errorf("%d %v", rec.Code, rec.Header())
		}
		r = httptest.NewRequest(http.MethodPost, "/v1/account/sessions/oauth2/callback/gh/default", strings.NewReader("state="+strings.Repeat("a", maxCallbackBody)))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec = httptest.NewRecorder()
		h.srv.ServeHTTP(rec, r)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), "The callback body could not be read.") {
			t.Errorf("oversized body: %d", rec.Code)
		}
	})
	t.Run("failures", func(t *testing.T) {
		for _, c := range []struct {
			name     string
			start    string // the start route the browser used ("": no pending login)
			path     func(state string) string
			setup    func(h *harness)
			status   int
			errTyp   string // in the failure URL's error, or on the page
			page     []string
			notOnPge []string
			// rewriteFailure replaces the pending login's failure URL.
			rewriteFailure string
		}{
			{name: "provider refused, failure URL", start: "?failure=" + url.QueryEscape(failure),
				path: func(s string) string { return cb(s, "error", "access_denied", "error_description", "User cancelled") }, status: 302, errTyp: "user_oauth2_provider_error"},
			{name: "provider refused, page", start: "?x=1",
				path: func(s string) string {
					return cb(s, "error", "access_denied", "error_description", `<b>User</b> "cancelled"`)
				},
				status: 424, page: []string{"GitHub said:", html.EscapeString(`<b>User</b> "cancelled"`), "Sign-in failed."}, notOnPge: []string{"<b>User</b>"}},
			{name: "long description is cut", start: "?x=1",
				path: func(s string) string {
					return cb(s, "error", "access_denied", "error_description", strings.Repeat("é", 400))
				},
				status: 424, page: []string{strings.Repeat("é", maxProviderSaid-1) + "…</q>"}, notOnPge: []string{strings.Repeat("é", maxProviderSaid)}},
			{name: "foreign state: no words, no token request", start: "?x=1",
				path: func(string) string {
					return cb("someone-elses", "error", "access_denied", "error_description", "forged words")
				},
				status: 400, page: []string{"Sign-in failed."}, notOnPge: []string{"forged words", "notice-detail"}},
			{name: "foreign state known to the bridge goes to its failure URL", start: "?failure=" + url.QueryEscape(failure+"?mine"),
				path:   func(string) string { return cb("leaked") },
				setup:  func(h *harness) { h.svc.foreign["leaked"] = failure },
				status: 302, errTyp: "general_argument_invalid"},
			{name: "foreign state, failure of the pending login", start: "?failure=" + url.QueryEscape(failure),
				path: func(string) string { return cb("unknown") }, status: 302, errTyp: "general_argument_invalid"},
			{name: "no flow cookie at all", path: func(string) string { return cb("unknown") }, status: 400, page: []string{"Sign-in failed."}},
			{name: "another project", start: "?failure=" + url.QueryEscape(failure),
				path: func(s string) string {
					return strings.Replace(cb(s), "/default?", "/other?", 1)
				}, status: 302, errTyp: "project_not_found"},
			{name: "domain failure is a 4xx page", start: "?x=1", path: func(s string) string { return cb(s) },
				setup: func(h *harness) { h.svc.fail["CompleteLogin"] = errFakeStoreDown }, status: 400, page: []string{"Sign-in failed. An unexpected error occurred."}, notOnPge: []string{"connection refused"}},
			{name: "provider down is a failed dependency", start: "?x=1", path: func(s string) string { return cb(s) },
				setup: func(h *harness) {
					h.svc.fail["CompleteLogin"] = domainError(bridge.TypeOAuth2ProviderError, bridge.KindUnavailable, "The gh provider is unavailable.")
				},
				status: 424},
			{name: "unusable failure URL falls back to the error page", start: "?failure=" + url.QueryEscape(failure),
				path: func(s string) string { return cb(s, "error", "access_denied", "error_description", "User cancelled") },
				// A URL that passed the start but cannot carry the error query.
				rewriteFailure: "http://[::1",
				status:         424, page: []string{`id="error-message"`, "GitHub said:", "User cancelled"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				h := newHarness(t, nil)
				var cookies []*http.Cookie
				state := ""
				if c.start != "" {
					var flow *http.Cookie
					flow, state = h.login(t, "/v1/account/sessions/oauth2/gh"+c.start)
					cookies = append(cookies, flow)
				}
				if c.setup != nil {
					c.setup(h)
				}
				if c.rewriteFailure != "" {
					pending := h.srv.pendingFlows(withCookies(cookies))
					pending[0].Failure = c.rewriteFailure
					rec := httptest.NewRecorder()
					if err := h.srv.savePendingFlows(rec, pending); err != nil {
						t.Fatal(err)
					}
					cookies = []*http.Cookie{cookie(rec, flowCookieName)}
				}
				rec := h.do(request{path: c.path(state), cookies: cookies, header: []string{"Accept", browserAccept}})
				if rec.Code != c.status {
					t.Fatalf("HTTP %d, want %d\n%s", rec.Code, c.status, rec.Body.String())
				}
				if c.status == 302 {
					if e := failureError(t, rec, failure); e["type"] != c.errTyp {
						t.Errorf("error = %v, want type %s", e, c.errTyp)
					}
					if cookie(rec, "a_session_default") != nil {
						t.Errorf("a failed login set a session cookie")
					}
					return
				}
				body := rec.Body.String()
				for _, want := range c.page {
					if !strings.Contains(body, want) {
						t.Errorf("the page lacks %q:\n%s", want, body)
					}
				}
				for _, not := range c.notOnPge {
					if strings.Contains(body, not) {
						t.Errorf("the page shows %q", not)
					}
				}
			})
		}
	})
	t.Run("rejected state is counted and abandoned", func(t *testing.T) {
		h := newHarness(t, nil)
		h.do(request{path: cb("zzz")})
		if !h.svc.called("AbandonLogin zzz") || !h.svc.called("LoginStateRejected gh") || h.svc.called("CompleteLogin gh zzz") {
			t.Errorf("calls = %v", h.svc.calls)
		}
	})
	t.Run("rate limited", func(t *testing.T) {
		h := newHarness(t, func(o *Options) { o.RateLimits.Callback = RateLimit{Limit: 1} })
		flow, state := h.login(t, "/v1/account/sessions/oauth2/gh?failure="+url.QueryEscape(failure))
		h.do(request{path: cb("other")})
		rec := h.do(request{path: cb(state), cookies: []*http.Cookie{flow}})
		if e := failureError(t, rec, failure); e["type"] != "general_rate_limit_exceeded" || e["code"] != float64(429) {
			t.Errorf("error = %v", e)
		}
		if cookie(rec, flowCookieName) != nil || h.svc.called("CompleteLogin gh "+state) {
			t.Errorf("a rate-limited callback consumed the login")
		}
	})
}

// withCookies is a request carrying cookies.
func withCookies(cookies []*http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	return r
}

func TestCreateSessionFromToken(t *testing.T) {
	runRoutes(t, []routeCase{
		{name: "redeem", req: request{method: "POST", path: "/v1/account/sessions/token", body: `{"userId":"u1","secret":"good"}`, header: []string{"Origin", appOrigin}},
			setup: func(h *harness) { h.svc.tokenSecret = "good" }, status: 201, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
				s := jsonOf(t, rec)
				hasExactly(t, "session", s, sessionKeys)
				if s["current"] != true || s["secret"] != "" || s["$id"] != "redeemed" {
					t.Errorf("session = %v", s)
				}
				c := cookie(rec, "a_session_default")
				if cred, ok := h.srv.codec.decode(c.Value); !ok || cred.SessionID != "redeemed" {
					t.Errorf("cookie %v", c)
				}
				if fb := rec.Header().Get("X-Fallback-Cookies"); !strings.Contains(fb, c.Value) {
					t.Errorf("fallback = %q", fb)
				}
			}},
		{name: "redeem with an API key shows the secret", req: request{method: "POST", path: "/v1/account/sessions/token", key: keyReadOnly, body: `{"userId":"u1","secret":"good"}`},
			setup: func(h *harness) { h.svc.tokenSecret = "good" }, status: 201, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
				if s := jsonOf(t, rec); s["secret"] == "" || s["current"] != true || s["providerRefreshToken"] != "refresh-redeemed" {
					t.Errorf("session = %v", s)
				}
			}},
		{name: "wrong secret", req: request{method: "POST", path: "/v1/account/sessions/token", body: `{"userId":"u1","secret":"bad"}`}, status: 401, errTyp: "user_invalid_token"},
		{name: "empty body", req: request{method: "POST", path: "/v1/account/sessions/token"}, status: 400, errTyp: "general_argument_invalid"},
		{name: "not JSON", req: request{method: "POST", path: "/v1/account/sessions/token", body: `{"userId":`}, status: 400, errTyp: "general_argument_invalid", check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if !strings.Contains(jsonOf(t, rec)["message"].(string), "syntax error at offset") {
				t.Errorf("message = %s", rec.Body.String())
			}
		}},
		{name: "wrong types", req: request{method: "POST", path: "/v1/account/sessions/token", body: `{"userId":1}`}, status: 400, errTyp: "general_argument_invalid"},
		{name: "unseal fails", req: request{method: "POST", path: "/v1/account/sessions/token", body: `{"userId":"u1","secret":"good"}`},
			setup: func(h *harness) { h.svc.tokenSecret = "good"; h.svc.fail["AccessToken"] = errFakeStoreDown }, status: 500},
	}, func(o *Options) { o.RateLimits.Token = RateLimit{Limit: 5} })
	h := newHarness(t, func(o *Options) { o.RateLimits.Token = RateLimit{Limit: 1} })
	h.do(request{method: "POST", path: "/v1/account/sessions/token", body: `{"userId":"u1","secret":"x"}`})
	if rec := h.do(request{method: "POST", path: "/v1/account/sessions/token", body: `{"userId":"u1","secret":"x"}`}); rec.Code != 429 {
		t.Errorf("second redeem for u1: %d", rec.Code)
	}
	if rec := h.do(request{method: "POST", path: "/v1/account/sessions/token", body: `{"userId":"u2","secret":"x"}`}); rec.Code != 401 {
		t.Errorf("another user from the same address: %d (keyed by userId too)", rec.Code)
	}
}
