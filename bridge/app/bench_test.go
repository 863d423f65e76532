package app

import (
	"github.com/sessionbridge/sessionbridge/bridge/config"
	"github.com/sessionbridge/sessionbridge/internal/devissuer"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkSessionCheck measures the hot path of an app that checks its
// user on every page: GET /v1/account/sessions/current with the session
// cookie, through the real handler and SQLite store (no network).
func BenchmarkSessionCheck(b *testing.B) {
	h := newHarness(b, harnessOptions{noRefresh: true})
	_, value := h.loggedIn(b)
	cookie := &http.Cookie{Name: "a_session_default", Value: value}
	check := func() int {
		req := httptest.NewRequest("GET", "/v1/account/sessions/current", nil)
		req.Header.Set("X-Appwrite-Project", "default")
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		h.app.Handler.ServeHTTP(rec, req)
		return rec.Code
	}
	if code := check(); code != http.StatusOK {
		b.Fatalf("session check: HTTP %d", code)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if code := check(); code != http.StatusOK {
				b.Errorf("HTTP %d", code)
				return
			}
		}
	})
}

// BenchmarkLogin measures whole browser logins (start, bind hop, the
// provider's authorize, callback, cookie) against an ES256 dev issuer, on
// real loopback HTTP and the SQLite store.
func BenchmarkLogin(b *testing.B) {
	h := newHarness(b, harnessOptions{noRefresh: true, issuer: devissuer.Options{ES256: true},
		mutateConf: func(c *config.Config) { off := false; c.RateLimits.Enabled = &off }})
	b.ReportAllocs()
	for b.Loop() {
		h.login(b, h.browser())
	}
}
