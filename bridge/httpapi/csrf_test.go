package httpapi

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

type fixedAllowlist struct{ origin string }

func (a fixedAllowlist) AllowsURL(string) bool           { return true }
func (a fixedAllowlist) AllowsOrigin(origin string) bool { return origin == a.origin }

func TestCrossOriginAndBodyRules(t *testing.T) {
	s := &Server{origin: "https://auth.example", o: Options{Allowlist: fixedAllowlist{"https://app.example"}}}
	cases := []struct {
		name, method, path, origin, fetchSite, contentType, body string
		chunked                                                  bool
		originOK, bodyOK                                         bool
	}{
		{"GET from anywhere", "GET", "/v1/account", "https://evil.example", "cross-site", "", "", false, true, true},
		{"OPTIONS preflight", "OPTIONS", "/v1/account", "https://evil.example", "cross-site", "", "", false, true, true},
		{"own origin", "DELETE", "/v1/account/sessions", "https://auth.example", "same-origin", "", "", false, true, true},
		{"allowed app", "POST", "/v1/account/sessions/token", "https://app.example", "cross-site", "application/json", "{}", false, true, true},
		{"foreign origin", "PATCH", "/v1/account/sessions/x", "https://evil.example", "", "application/json", "{}", false, false, true},
		{"cross-site, no Origin", "POST", "/account", "", "cross-site", "", "", false, false, true},
		{"same-site, no Origin", "POST", "/v1/account/sessions/token", "", "same-site", "application/json", "{}", false, true, true},
		{"server caller", "POST", "/v1/users/u/sessions", "", "", "", "", false, true, true},
		{"vendor JSON type", "POST", "/v1/account/sessions/token", "", "", "application/vnd.api+json", "{}", false, true, true},
		{"chunked text body", "POST", "/v1/account/sessions/token", "", "", "text/plain", "{}", true, true, false},
		{"form body", "POST", "/v1/account/sessions/token", "", "", "application/x-www-form-urlencoded", "a=b", false, true, false},
		{"form_post callback", "POST", "/v1/account/sessions/oauth2/callback/apple/default", "https://appleid.apple.com", "cross-site", "application/x-www-form-urlencoded", "code=x", false, true, true},
	}
	for _, c := range cases {
		var body io.Reader
		if c.body != "" {
			body = strings.NewReader(c.body)
		}
		r := httptest.NewRequest(c.method, c.path, body)
		if c.chunked {
			r.ContentLength = -1
		}
		for k, v := range map[string]string{"Origin": c.origin, "Sec-Fetch-Site": c.fetchSite, "Content-Type": c.contentType} {
			if v != "" {
				r.Header.Set(k, v)
			}
		}
		if got := s.crossOriginAllowed(r); got != c.originOK {
			t.Errorf("%s: origin allowed = %v, want %v", c.name, got, c.originOK)
		}
		if got := jsonBodyAllowed(r); got != c.bodyOK {
			t.Errorf("%s: body allowed = %v, want %v", c.name, got, c.bodyOK)
		}
	}
}
