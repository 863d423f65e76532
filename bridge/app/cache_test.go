package app

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/config"
	"github.com/sessionbridge/sessionbridge/internal/devissuer"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testissuer"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testpg"
)

// secondInstance builds another process on h's configuration (same store,
// keys and providers) and serves it on its own loopback server. With
// refresher set it also runs that instance's refresher.
func (h *harness) secondInstance(t *testing.T, refresher bool) *harness {
	t.Helper()
	a, err := Build(t.Context(), h.cfg, slog.New(slog.DiscardHandler), Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	if refresher {
		go func() { defer close(done); _ = a.Refresher.Run(ctx) }()
	} else {
		close(done)
	}
	t.Cleanup(func() { cancel(); <-done; srv.Close(); a.Close() })
	return &harness{t: t, app: a, srv: srv, cfg: h.cfg, dbPath: h.dbPath, iss: h.iss}
}

func postgresConf(t *testing.T) func(*config.Config) {
	dsn := testpg.FreshDSN(t, testpg.DSN(t), "sbapp_")
	return func(c *config.Config) { c.Store = config.Store{Driver: "postgres", DSN: dsn} }
}

// TestRevocationWithSessionCache: with the session cache on (the default)
// a revoked session is refused at once by the instance that revoked it and
// soon by every other one, whichever instance cached it.
func TestRevocationWithSessionCache(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			o := harnessOptions{noRefresh: true}
			if backend == "postgres" {
				o.mutateConf = postgresConf(t)
			}
			a := newHarness(t, o)
			b := a.secondInstance(t, false)
			first, second := a.browser(), a.browser()
			a.login(t, first)
			a.login(t, second)
			v1, v2 := a.sessionCookie(t, first), a.sessionCookie(t, second)
			for _, inst := range []*harness{a, b} {
				for range 3 { // fill both caches
					for _, v := range []string{v1, v2} {
						if status, _ := inst.api(t, "GET", "/v1/account/sessions/current", v, nil); status != 200 {
							t.Fatalf("session check: %d", status)
						}
					}
				}
			}
			if a.app.Cache.Len() == 0 || b.app.Cache.Len() == 0 {
				t.Fatal("the session cache is off")
			}
			// Sign-out on A: refused on A with no wait, then on B.
			if status, _ := a.api(t, "DELETE", "/v1/account/sessions/current", v1, nil); status != 204 {
				t.Fatalf("sign out: %d", status)
			}
			if status, _ := a.api(t, "GET", "/v1/account/sessions/current", v1, nil); status != 401 {
				t.Fatalf("signed-out session on the instance that ended it: %d, want 401 at once", status)
			}
			waitFor(t, 20*time.Second, "the sign-out to reach instance B", func() bool {
				status, _ := b.api(t, "GET", "/v1/account/sessions/current", v1, nil)
				return status == 401
			})
			// Revocation by an API key on B: refused on B at once, then on A.
			_, s2 := b.api(t, "GET", "/v1/account/sessions/current", v2, nil)
			if status := b.apiKey(t, "DELETE", "/v1/users/"+s2["userId"].(string)+"/sessions/"+s2["$id"].(string)); status != 204 {
				t.Fatalf("revoke: %d", status)
			}
			if status, _ := b.api(t, "GET", "/v1/account/sessions/current", v2, nil); status != 401 {
				t.Fatalf("revoked session on the instance that revoked it: %d, want 401 at once", status)
			}
			waitFor(t, 20*time.Second, "the revocation to reach instance A", func() bool {
				status, _ := a.api(t, "GET", "/v1/account/sessions/current", v2, nil)
				return status == 401
			})
		})
	}
}

// TestRefreshDaemonFeedsServeCache: serve (no refresher) and a refresh
// daemon share one SQLite file. The daemon's refreshes reach serve's
// cached session (the fresh providerAccessToken is answered), and the
// session it ends on invalid_grant stops authenticating on serve.
func TestRefreshDaemonFeedsServeCache(t *testing.T) {
	serve := newHarness(t, harnessOptions{
		issuer:    devissuer.Options{AccessTokenTTL: 3 * time.Second, RotateRefreshTokens: true},
		beforeExp: 2 * time.Second, noRefresh: true,
	})
	b := serve.browser()
	serve.login(t, b)
	value := serve.sessionCookie(t, b)
	_, first := serve.api(t, "GET", "/v1/account/sessions/current", value, nil)
	serve.api(t, "GET", "/v1/account/sessions/current", value, nil) // cached now
	serve.secondInstance(t, true)
	waitFor(t, 20*time.Second, "serve to answer the daemon's refreshed token", func() bool {
		_, now := serve.api(t, "GET", "/v1/account/sessions/current", value, nil)
		return now["providerAccessToken"] != first["providerAccessToken"]
	})
	serve.iss.SetFaults(testissuer.Faults{RefreshError: "invalid_grant"})
	waitFor(t, 20*time.Second, "the daemon's ended session to stop authenticating on serve", func() bool {
		status, _ := serve.api(t, "GET", "/v1/account/sessions/current", value, nil)
		return status == 401
	})
}

// apiKey calls the API with the harness's API key and returns the status.
func (h *harness) apiKey(t *testing.T, method, path string) int {
	return h.apiKeyBody(t, method, path, "")
}

func (h *harness) apiKeyBody(t *testing.T, method, path, body string) int {
	t.Helper()
	req, _ := http.NewRequest(method, h.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Appwrite-Key", h.cfg.APIKeys[0].Secret)
	req.Header.Set("X-Appwrite-Project", "default")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestSessionCacheOff: session.cache_size 0 turns the cache off; checks
// read the store and a sign-out counts at once.
func TestSessionCacheOff(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true, mutateConf: func(c *config.Config) {
		zero := 0
		c.Session.CacheSize = &zero
	}})
	if h.app.Cache != nil {
		t.Fatal("cache_size 0 built a cache")
	}
	b := h.browser()
	h.login(t, b)
	v := h.sessionCookie(t, b)
	if status, _ := h.api(t, "GET", "/v1/account/sessions/current", v, nil); status != 200 {
		t.Fatalf("session check: %d", status)
	}
	h.api(t, "DELETE", "/v1/account/sessions/current", v, nil)
	if status, _ := h.api(t, "GET", "/v1/account/sessions/current", v, nil); status != 401 {
		t.Fatalf("after sign-out: %d", status)
	}
}

// TestBlockedUserLeavesSessionCache: blocking a user whose session is
// cached refuses it at once on the instance that blocked, and soon on the
// other one.
func TestBlockedUserLeavesSessionCache(t *testing.T) {
	a := newHarness(t, harnessOptions{noRefresh: true})
	b := a.secondInstance(t, false)
	br := a.browser()
	a.login(t, br)
	v := a.sessionCookie(t, br)
	var user string
	for _, inst := range []*harness{a, b, a, b} {
		status, s := inst.api(t, "GET", "/v1/account/sessions/current", v, nil)
		if status != 200 {
			t.Fatalf("session check: %d", status)
		}
		user = s["userId"].(string)
	}
	if status := a.apiKeyBody(t, "PATCH", "/v1/users/"+user+"/status", `{"status":false}`); status != 200 {
		t.Fatalf("block: %d", status)
	}
	if status, _ := a.api(t, "GET", "/v1/account/sessions/current", v, nil); status == 200 {
		t.Fatal("a blocked user's cached session still authenticates on the instance that blocked")
	}
	waitFor(t, 20*time.Second, "the block to reach instance B", func() bool {
		status, _ := b.api(t, "GET", "/v1/account/sessions/current", v, nil)
		return status != 200
	})
}
