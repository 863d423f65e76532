package app

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sessionbridge/sessionbridge/internal/devissuer"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testissuer"
)

// TestLoginWithES256Issuer: the dev issuer's ES256 mode (the benchmark's
// cheap signer) is accepted end to end, and a forged ES256 signature is not.
func TestLoginWithES256Issuer(t *testing.T) {
	h := newHarness(t, harnessOptions{issuer: devissuer.Options{ES256: true}, noRefresh: true})
	b := h.browser()
	h.login(t, b)
	if status, _ := h.api(t, "GET", "/v1/account/sessions/current", h.sessionCookie(t, b), nil); status != 200 {
		t.Fatalf("session check after an ES256 login: %d", status)
	}
	h.iss.SetFaults(testissuer.Faults{BadSignature: true})
	forged := h.browser()
	h.login(t, forged)
	if v := h.sessionCookie(t, forged); v != "" {
		t.Fatal("a login with a forged ES256 ID token got a session")
	}
}

// TestNavigationSkipsBindHop: a browser navigating to the session start
// route (Fetch Metadata says so) gets the flow cookie there and goes
// straight to the provider; the login completes with every check. Without
// those headers (a server fetching the route) the bind hop stays.
func TestNavigationSkipsBindHop(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	b := h.browser()
	b.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	get := func(u string, navigate bool) *http.Response {
		req, _ := http.NewRequest("GET", u, nil)
		if navigate {
			req.Header.Set("Sec-Fetch-Mode", "navigate")
			req.Header.Set("Sec-Fetch-Dest", "document")
		}
		resp, err := b.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	start := get(h.startURL(appOrigin+"/ok", appOrigin+"/fail"), true)
	loc, _ := start.Location()
	if start.StatusCode != http.StatusFound || loc == nil || !strings.HasPrefix(loc.String(), h.iss.URL()+"/authorize") {
		t.Fatalf("navigation start: HTTP %d to %v, want the provider's authorize", start.StatusCode, loc)
	}
	if cookieNamed(start, "sb_flow") == nil {
		t.Fatal("navigation start set no flow cookie")
	}
	cb, _ := get(loc.String(), false).Location()
	done := get(cb.String(), false)
	if l, _ := done.Location(); l == nil || l.String() != appOrigin+"/ok" || h.sessionCookie(t, b) == "" {
		t.Fatalf("callback: HTTP %d to %v, session cookie %t", done.StatusCode, l, h.sessionCookie(t, b) != "")
	}

	fetched := get(h.startURL(appOrigin+"/ok", appOrigin+"/fail"), false)
	if l, _ := fetched.Location(); l == nil || !strings.Contains(l.Path, "/v1/oauth2/bind/") || cookieNamed(fetched, "sb_flow") != nil {
		t.Fatalf("server-side start: to %v, flow cookie %v; want the bind hop and no cookie", l, cookieNamed(fetched, "sb_flow"))
	}
}
