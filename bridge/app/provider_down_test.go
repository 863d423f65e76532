package app

import (
	"net/url"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/config"
	"github.com/sessionbridge/sessionbridge/providers/devissuer"
)

// A provider whose discovery fails at start does not stop the others; its
// logins fail cleanly until a background retry reaches it.
func TestProviderDownAtStartIsRetried(t *testing.T) {
	down, err := devissuer.New(devissuer.Options{ClientID: "c2", ClientSecret: "s2-secret-value", SigningKey: signingKey(t),
		AutoApprove: &devissuer.User{Email: "bob@example.com", Name: "Bob"}})
	if err != nil {
		t.Fatal(err)
	}
	down.SetFaults(devissuer.Faults{DiscoveryDown: true})
	downURL, err := down.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { down.Close() })
	h := newHarness(t, harnessOptions{mutateConf: func(c *config.Config) {
		c.Providers["flaky"] = config.Provider{Type: "oidc", Issuer: downURL, ClientID: "c2", ClientSecret: "s2-secret-value"}
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

	down.SetFaults(devissuer.Faults{})
	waitFor(t, 20*time.Second, "the provider to be retried", func() bool {
		resp := h.browser().get(t, flakyStart())
		loc, _ := resp.Location()
		return loc != nil && loc.Path == "/ok"
	})
	if down.Stats().DiscoveryRequests < 2 {
		t.Errorf("discovery requests = %d, want retries", down.Stats().DiscoveryRequests)
	}
}
