package app

import (
	"net/url"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/config"
	"github.com/sessionbridge/sessionbridge/internal/devissuer"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testissuer"
	"github.com/sessionbridge/sessionbridge/providers/oidc"
)

// A provider whose discovery fails at start does not stop the others; its
// logins fail cleanly until a background retry reaches it.
func TestProviderDownAtStartIsRetried(t *testing.T) {
	down := testissuer.Start(t, devissuer.Options{ClientID: "c2", ClientSecret: "s2-secret-value",
		AutoApprove: &devissuer.User{Email: "bob@example.com", Name: "Bob"}})
	down.SetFaults(testissuer.Faults{DiscoveryDown: true}) // before anything asks it
	downURL := down.URL()
	h := newHarness(t, harnessOptions{mutateConf: func(c *config.Config) {
		c.Providers["flaky"] = config.Provider{Type: "oidc", Config: &oidc.Config{Issuer: downURL, ClientID: "c2", ClientSecret: "s2-secret-value"}}
		c.ProviderOrder = append(c.ProviderOrder, "flaky")
	}})

	flakyStart := func() string {
		q := url.Values{"success": {appOrigin + "/ok"}, "failure": {appOrigin + "/fail"}}
		return h.srv.URL + "/v1/account/sessions/oauth2/flaky?" + q.Encode()
	}
	e := failureOf(t, h.browser().get(t, flakyStart()))
	if e["type"] != "user_oauth2_provider_error" {
		t.Fatalf("login with the unreachable provider: %v", e)
	}
	if loc, _ := h.login(t, h.browser()).Location(); loc == nil || loc.Path != "/ok" {
		t.Fatalf("the healthy provider is blocked: %v", loc)
	}

	down.SetFaults(testissuer.Faults{})
	waitFor(t, 20*time.Second, "the provider to be retried", func() bool {
		resp := h.browser().get(t, flakyStart())
		loc, _ := resp.Location()
		return loc != nil && loc.Path == "/ok"
	})
	if down.Stats().DiscoveryRequests < 2 {
		t.Errorf("discovery requests = %d, want retries", down.Stats().DiscoveryRequests)
	}
}
