package httpapi

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	s := &Server{o: Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}}
	cases := []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"direct client", "203.0.113.5:1234", nil, "203.0.113.5"},
		{"untrusted peer's header ignored", "203.0.113.5:1234", []string{"198.51.100.1"}, "203.0.113.5"},
		{"loopback proxy", "127.0.0.1:9", []string{"198.51.100.1"}, "198.51.100.1"},
		{"trusted proxy chain", "10.1.2.3:9", []string{"198.51.100.1, 10.9.9.9"}, "198.51.100.1"},
		{"spoofed left part skipped", "10.1.2.3:9", []string{"1.1.1.1, 198.51.100.1"}, "198.51.100.1"},
		{"several header lines", "10.1.2.3:9", []string{"1.1.1.1", "198.51.100.7"}, "198.51.100.7"},
		{"garbage stops the walk", "10.1.2.3:9", []string{"198.51.100.1, nonsense"}, "10.1.2.3"},
		{"ipv6 peer", "[2001:db8::1]:80", nil, "2001:db8::1"},
		{"mapped ipv4", "[::ffff:203.0.113.9]:80", nil, "203.0.113.9"},
		{"unparsable peer", "nonsense", nil, ""},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := s.clientIP(r); got != c.want {
			t.Errorf("%s: clientIP = %q, want %q", c.name, got, c.want)
		}
	}
}
