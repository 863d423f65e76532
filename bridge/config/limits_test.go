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
