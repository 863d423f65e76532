package config

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestRefreshLimitsDecodeAndValidate(t *testing.T) {
	base := "secrets:\n  session_keys: [\"MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=\"]\n  token_keys: [\"MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=\"]\n"
	good := base + "refresh:\n  provider_rate: 2.5\n  provider_burst: 3\nproviders:\n  corp:\n    type: oidc\n    issuer: https://login.example\n    client_id: c\n    refresh_rate: 0.5\n"
	c, err := Parse("sb.yaml", []byte(good), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if c.Refresh.ProviderRate != 2.5 || c.Refresh.ProviderBurst != 3 || c.Providers["corp"].RefreshRate != 0.5 {
		t.Fatalf("decoded %+v / %v", c.Refresh, c.Providers["corp"].RefreshRate)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"refresh:\n  provider_rate: fast\n", ":5: refresh.provider_rate: \"fast\" is not a number"},
		{"refresh:\n  provider_rate: -1\n", "refresh.provider_rate: must not be negative"},
	} {
		_, err := Parse("sb.yaml", []byte(base+tc.yaml), func(string) (string, bool) { return "", false })
		var ps Problems
		if !errors.As(err, &ps) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %s", tc.yaml, err, tc.want)
		}
	}
}

func TestTrustedProxies(t *testing.T) {
	c := &Config{TrustedProxies: []string{"10.0.0.0/8", "192.0.2.7", "2001:db8::/32", "nonsense"}}
	got := c.TrustedProxyPrefixes()
	if len(got) != 3 || got[1].Bits() != 32 || !got[0].Contains(netip.MustParseAddr("10.2.3.4")) {
		t.Fatalf("prefixes = %v", got)
	}
	c.ApplyDefaults()
	c.Secrets.SessionKeyBytes = [][]byte{make([]byte, 32)}
	c.Secrets.TokenKeyBytes = [][]byte{make([]byte, 32)}
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), `trusted_proxies[3]: "nonsense" is not an IP address or CIDR range`) {
		t.Fatalf("Validate = %v", err)
	}
}

func TestMinRefreshIntervalDecodes(t *testing.T) {
	base := "secrets:\n  session_keys: [\"MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=\"]\n  token_keys: [\"MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=\"]\n" +
		"providers:\n  corp:\n    type: oidc\n    issuer: https://login.example\n    client_id: c\n"
	env := func(string) (string, bool) { return "", false }
	c, err := Parse("sb.yaml", []byte(base), env)
	if err != nil || c.Providers["corp"].MinRefreshInterval != nil {
		t.Fatalf("unset: %v %v", err, c.Providers["corp"].MinRefreshInterval)
	}
	c, err = Parse("sb.yaml", []byte(base+"    min_refresh_interval: 24h\n"), env)
	if err != nil || c.Providers["corp"].MinRefreshInterval == nil || c.Providers["corp"].MinRefreshInterval.Hours() != 24 {
		t.Fatalf("24h: %v %v", err, c.Providers["corp"].MinRefreshInterval)
	}
	c, err = Parse("sb.yaml", []byte(base+"    min_refresh_interval: 0s\n"), env)
	if err != nil || c.Providers["corp"].MinRefreshInterval == nil || *c.Providers["corp"].MinRefreshInterval != 0 {
		t.Fatalf("0s (turns a preset's default off): %v", err)
	}
	_, err = Parse("sb.yaml", []byte(base+"    min_refresh_interval: -1h\n"), env)
	if err == nil || !strings.Contains(err.Error(), "providers.corp.min_refresh_interval: must not be negative") {
		t.Fatalf("-1h: %v", err)
	}
}
