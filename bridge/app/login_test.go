package app

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/sessionbridge/sessionbridge/internal/devissuer"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testissuer"
)

func TestLoginCreatesAppwriteSession(t *testing.T) {
	h := newHarness(t, harnessOptions{issuer: devissuer.Options{RotateRefreshTokens: true, AdvertiseIssParameter: true}})
	b := h.browser()
	resp := h.login(t, b)
	if loc := resp.Header.Get("Location"); loc != appOrigin+"/ok" {
		t.Fatalf("redirected to %q, want the success URL", loc)
	}
	value := h.sessionCookie(t, b)
	if value == "" {
		t.Fatal("no session cookie after login")
	}
	for _, c := range resp.Cookies() {
		if c.Name == "a_session_default" && (!c.HttpOnly || c.Path != "/" || c.Secure) {
			t.Fatalf("cookie attributes: HttpOnly=%v Path=%q Secure=%v", c.HttpOnly, c.Path, c.Secure)
		}
	}
	status, s := h.api(t, "GET", "/v1/account/sessions/current", value, nil)
	if status != http.StatusOK {
		t.Fatalf("GET current: HTTP %d %v", status, s)
	}
	want := []string{"$id", "$createdAt", "$updatedAt", "userId", "expire", "provider", "providerUid",
		"providerAccessToken", "providerAccessTokenExpiry", "providerRefreshToken", "ip", "osCode", "osName",
		"osVersion", "clientType", "clientCode", "clientName", "clientVersion", "clientEngine",
		"clientEngineVersion", "deviceName", "deviceBrand", "deviceModel", "countryCode", "countryName",
		"current", "factors", "secret", "mfaUpdatedAt"}
	if len(s) != len(want) {
		t.Errorf("session has %d keys, want %d: %v", len(s), len(want), s)
	}
	for _, k := range want {
		v, ok := s[k]
		if !ok || v == nil {
			t.Errorf("session key %q missing or null", k)
			continue
		}
		switch k {
		case "current":
			if v != true {
				t.Errorf("current = %v", v)
			}
		case "factors":
			if f, _ := json.Marshal(v); string(f) != `["email","oauth2"]` {
				t.Errorf("factors = %s", f)
			}
		default:
			if _, ok := v.(string); !ok {
				t.Errorf("%s is %T, want string", k, v)
			}
		}
	}
	if s["provider"] != "corp" || s["providerAccessToken"] == "" || s["providerRefreshToken"] != "" {
		t.Errorf("provider=%v access token set=%v refresh token shown to owner=%v", s["provider"], s["providerAccessToken"] != "", s["providerRefreshToken"] != "")
	}
	if s["ip"] != "127.0.0.1" || s["countryCode"] != "--" || s["countryName"] != "Unknown" {
		t.Errorf("ip=%v country=%v/%v", s["ip"], s["countryCode"], s["countryName"])
	}
	if s["osCode"] != "MAC" || s["clientCode"] != "CH" || s["clientName"] != "Chrome" {
		t.Errorf("device: os=%v client=%v/%v", s["osCode"], s["clientCode"], s["clientName"])
	}
	for _, k := range []string{"$createdAt", "expire", "providerAccessTokenExpiry"} {
		if v, _ := s[k].(string); len(v) != len("2026-11-28T09:30:00.000+00:00") || !strings.HasSuffix(v, "+00:00") {
			t.Errorf("%s = %q, want ISO 8601 with milliseconds and offset", k, v)
		}
	}
	if uid, _ := s["providerUid"].(string); uid == "" {
		t.Error("providerUid empty")
	}

	// The three credential forms all authenticate.
	req, _ := http.NewRequest("GET", h.srv.URL+"/v1/account", nil)
	req.Header.Set("X-Fallback-Cookies", `{"a_session_default":"`+value+`"}`)
	r2, err := http.DefaultClient.Do(req)
	if err != nil || r2.StatusCode != 200 {
		t.Fatalf("X-Fallback-Cookies: %v %v", err, r2.StatusCode)
	}
	r2.Body.Close()
	req, _ = http.NewRequest("GET", h.srv.URL+"/v1/account", nil)
	req.AddCookie(&http.Cookie{Name: "a_session_default", Value: value})
	r3, err := http.DefaultClient.Do(req)
	if err != nil || r3.StatusCode != 200 {
		t.Fatalf("cookie: %v %v", err, r3.StatusCode)
	}
	var user map[string]any
	_ = json.NewDecoder(r3.Body).Decode(&user)
	r3.Body.Close()
	if user["email"] != "ada@example.com" || user["name"] != "Ada Lovelace" || user["emailVerification"] != true {
		t.Errorf("user = %v", user)
	}

	// An API key sees the refresh token.
	req, _ = http.NewRequest("GET", h.srv.URL+"/v1/users/"+s["userId"].(string)+"/sessions", nil)
	req.Header.Set("X-Appwrite-Key", "api-key-secret-0123456789")
	r4, err := http.DefaultClient.Do(req)
	if err != nil || r4.StatusCode != 200 {
		t.Fatalf("users sessions: %v %v", err, r4.StatusCode)
	}
	var list struct {
		Total    int              `json:"total"`
		Sessions []map[string]any `json:"sessions"`
	}
	_ = json.NewDecoder(r4.Body).Decode(&list)
	r4.Body.Close()
	if list.Total != 1 || list.Sessions[0]["providerRefreshToken"] == "" {
		t.Errorf("API key listing: total %d, refresh token present %v", list.Total, list.Total == 1 && list.Sessions[0]["providerRefreshToken"] != "")
	}

	// Logout ends the session everywhere.
	if status, _ := h.api(t, "DELETE", "/v1/account/sessions/current", value, nil); status != http.StatusNoContent {
		t.Fatalf("DELETE current: %d", status)
	}
	if status, body := h.api(t, "GET", "/v1/account", value, nil); status != 401 || body["type"] != "general_unauthorized_scope" {
		t.Fatalf("after logout: %d %v", status, body)
	}
}

// callbackURL drives a login up to the callback and returns its URL
// without following it.
func (h *harness) callbackURL(t *testing.T, b *browser) *url.URL {
	t.Helper()
	l := h.corpLogin()
	l.UntilCallback = true
	res, err := b.Login(context.Background(), l)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	if loc := res.Callback; loc == nil || !strings.Contains(loc.Path, "/oauth2/callback/corp/default") {
		t.Fatalf("expected a redirect to the callback, got HTTP %d %v", res.Response.StatusCode, loc)
	}
	return res.Callback
}

// failureOf asserts a redirect to the failure URL and returns the error.
func failureOf(t *testing.T, resp *http.Response) map[string]any {
	t.Helper()
	loc, err := resp.Location()
	if err != nil || loc.Host != "app.example" || loc.Path != "/fail" {
		t.Fatalf("want a redirect to the failure URL, got HTTP %d %v", resp.StatusCode, loc)
	}
	var e map[string]any
	if err := json.Unmarshal([]byte(loc.Query().Get("error")), &e); err != nil {
		t.Fatalf("error param is not JSON: %q", loc.Query().Get("error"))
	}
	if _, ok := e["code"].(float64); !ok || e["message"] == "" || e["type"] == "" {
		t.Fatalf("error param = %v", e)
	}
	return e
}

func TestCallbackStateRefusals(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	cases := []struct {
		name   string
		mutate func(t *testing.T, b *browser, cb *url.URL) *browser
	}{
		{"absent state", func(t *testing.T, b *browser, cb *url.URL) *browser {
			q := cb.Query()
			q.Del("state")
			cb.RawQuery = q.Encode()
			return b
		}},
		{"wrong state", func(t *testing.T, b *browser, cb *url.URL) *browser {
			q := cb.Query()
			q.Set("state", q.Get("state")+"x")
			cb.RawQuery = q.Encode()
			return b
		}},
		{"foreign browser", func(t *testing.T, b *browser, cb *url.URL) *browser {
			other := h.browser()
			other.StopAtCallback = true
			other.get(t, h.startURL(appOrigin+"/ok", appOrigin+"/fail")) // its own pending login
			return other
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := h.browser()
			cb := h.callbackURL(t, b)
			before := h.iss.Stats().TokenRequests
			sessions := h.countSessions(t)
			b2 := c.mutate(t, b, cb)
			b2.StopAtCallback = true
			resp := b2.get(t, cb.String())
			failureOf(t, resp)
			if got := h.iss.Stats().TokenRequests; got != before {
				t.Errorf("token requests sent: %d", got-before)
			}
			if h.countSessions(t) != sessions {
				t.Error("a session was created")
			}
		})
	}
	t.Run("no flow cookie at all", func(t *testing.T) {
		// Another browser presents this login's state and code: it goes to
		// the login's failure URL, and the login it tried to finish is ended
		// (its own browser cannot finish it afterwards either).
		b := h.browser()
		cb := h.callbackURL(t, b)
		before := h.iss.Stats().TokenRequests
		sessions := h.countSessions(t)
		bare := h.browser() // no cookies
		bare.StopAtCallback = true
		failureOf(t, bare.get(t, cb.String()))
		failureOf(t, b.get(t, cb.String()))
		if h.iss.Stats().TokenRequests != before || h.countSessions(t) != sessions {
			t.Error("a foreign state reached the token endpoint or made a session")
		}
		// Without any failure URL known, a 4xx HTML page.
		resp, err := http.Get(h.srv.URL + "/v1/account/sessions/oauth2/callback/corp/default?state=unknown&code=x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode < 400 || resp.StatusCode >= 500 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("want a 4xx HTML page, got %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	})
	t.Run("replayed state", func(t *testing.T) {
		b := h.browser()
		cb := h.callbackURL(t, b)
		saved := b.Jar.Cookies(cb)
		resp := b.get(t, cb.String())
		if loc, _ := resp.Location(); loc == nil || loc.Path != "/ok" {
			t.Fatalf("first use should succeed, got %d %v", resp.StatusCode, loc)
		}
		sessions := h.countSessions(t)
		before := h.iss.Stats().TokenRequests
		b.Jar.SetCookies(cb, saved) // an attacker that kept the old flow cookie
		failureOf(t, b.get(t, cb.String()))
		if h.iss.Stats().TokenRequests != before || h.countSessions(t) != sessions {
			t.Error("a replayed state reached the token endpoint or made a session")
		}
	})
}

func TestProviderVerificationRefusals(t *testing.T) {
	h := newHarness(t, harnessOptions{issuer: devissuer.Options{AdvertiseIssParameter: true}})
	cases := []struct {
		name         string
		faults       testissuer.Faults
		noTokenCalls bool
	}{
		{"iss parameter mismatch", testissuer.Faults{CallbackIss: "https://evil.example"}, true},
		{"iss parameter missing while advertised", testissuer.Faults{CallbackIss: "omit"}, true},
		{"bad signature", testissuer.Faults{BadSignature: true}, false},
		{"wrong audience", testissuer.Faults{WrongAudience: true}, false},
		{"several audiences without azp", testissuer.Faults{ExtraAudienceWithoutAzp: true}, false},
		{"wrong issuer in id token", testissuer.Faults{WrongIssuer: true}, false},
		{"missing sub", testissuer.Faults{MissingSub: true}, false},
		{"missing iat", testissuer.Faults{MissingIat: true}, false},
		{"wrong nonce", testissuer.Faults{WrongNonce: true}, false},
		{"expired id token", testissuer.Faults{Expired: true}, false},
		{"userinfo sub mismatch", testissuer.Faults{UserinfoSubMismatch: true, NoProfileClaims: true}, false},
		{"token endpoint error", testissuer.Faults{TokenError: "invalid_grant"}, false},
		{"token endpoint html", testissuer.Faults{TokenHTML: 502}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h.iss.SetFaults(c.faults)
			defer h.iss.SetFaults(testissuer.Faults{})
			sessions := h.countSessions(t)
			before := h.iss.Stats().TokenRequests
			e := failureOf(t, h.login(t, h.browser()))
			if typ, _ := e["type"].(string); !strings.HasPrefix(typ, "user_oauth2_") {
				t.Errorf("error type %q", typ)
			}
			if c.noTokenCalls && h.iss.Stats().TokenRequests != before {
				t.Error("a token request was sent before the iss check")
			}
			if h.countSessions(t) != sessions {
				t.Error("a session was created")
			}
		})
	}
}

func TestOpenRedirectsRefused(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	for _, target := range []string{
		"//evil.example/x", "https://evil.example/", "javascript:alert(1)", "http://app.example@evil.example/",
		"http://app.example.evil.example/", "/\\evil.example", "data:text/html,hi", "http://evil.example\\@app.example/",
	} {
		for _, param := range []string{"success", "failure"} {
			q := url.Values{param: {target}}
			req, _ := http.NewRequest("GET", h.srv.URL+"/v1/account/sessions/oauth2/corp?"+q.Encode(), nil)
			req.Header.Set("Accept", "application/json")
			resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode != 400 || body["type"] != "general_argument_invalid" {
				t.Errorf("%s=%q: HTTP %d %v", param, target, resp.StatusCode, body)
			}
		}
	}
	if h.iss.Stats().AuthorizeRequests != 0 {
		t.Error("a refused login reached the provider")
	}
}

func TestDatabaseHoldsNoPlaintextTokens(t *testing.T) {
	h := newHarness(t, harnessOptions{issuer: devissuer.Options{RotateRefreshTokens: true}, noRefresh: true})
	var secrets []string
	for i := 0; i < 3; i++ {
		b := h.browser()
		h.login(t, b)
		value := h.sessionCookie(t, b)
		status, s := h.api(t, "PATCH", "/v1/account/sessions/current", value, nil) // refresh now
		if status != 200 {
			t.Fatalf("PATCH: %d %v", status, s)
		}
		req, _ := http.NewRequest("GET", h.srv.URL+"/v1/users/"+s["userId"].(string)+"/sessions", nil)
		req.Header.Set("X-Appwrite-Key", "api-key-secret-0123456789")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var list struct{ Sessions []map[string]any }
		_ = json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		for _, s := range list.Sessions {
			secrets = append(secrets, s["providerAccessToken"].(string), s["providerRefreshToken"].(string))
		}
		secrets = append(secrets, value)
	}
	if h.iss.Stats().RefreshRequests < 3 {
		t.Fatalf("refreshes = %d, want >= 3", h.iss.Stats().RefreshRequests)
	}
	h.app.Close()
	raw := []byte{}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if b, err := os.ReadFile(h.dbPath + suffix); err == nil {
			raw = append(raw, b...)
		}
	}
	for _, s := range secrets {
		if s == "" {
			t.Fatal("empty token collected")
		}
		if strings.Contains(string(raw), s) {
			t.Errorf("database file contains a plaintext token or credential (%d chars)", len(s))
		}
	}
	logs := h.logs.String()
	if !strings.Contains(logs, `msg="http request"`) {
		t.Fatal("no access log line: the scan below would not cover the access log")
	}
	for _, s := range append(secrets, "bridge-secret-value") {
		if strings.Contains(logs, s) {
			t.Errorf("logs contain a secret (%d chars)", len(s))
		}
	}
}
