package httpapi

import (
	"log/slog"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestClientIP(t *testing.T) {
	s := &Server{o: Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, log: slog.New(slog.DiscardHandler)}
	cases := []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"direct client", "203.0.113.5:1234", nil, "203.0.113.5"},
		{"untrusted peer's header ignored", "203.0.113.5:1234", []string{"198.51.100.1"}, "203.0.113.5"},
		{"loopback is not trusted unless listed", "127.0.0.1:9", []string{"198.51.100.1"}, "127.0.0.1"},
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

func TestLoopbackIsTrustedOnlyWhenConfigured(t *testing.T) {
	logs := &strings.Builder{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	cases := []struct {
		name string
		o    Options
		want string
	}{
		{"not trusted by default", Options{}, "127.0.0.1"},
		{"listed in trusted_proxies", Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}, "198.51.100.1"},
		{"development mode", Options{TrustLoopback: true}, "198.51.100.1"},
	}
	for _, c := range cases {
		s := &Server{o: c.o, log: log}
		for range 3 {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = "127.0.0.1:5555"
			r.Header.Set("X-Forwarded-For", "198.51.100.1")
			if got := s.clientIP(r); got != c.want {
				t.Errorf("%s: clientIP = %q, want %q", c.name, got, c.want)
			}
		}
	}
	// One warning, from the one server that ignored the header, however
	// many requests did it.
	if n := strings.Count(logs.String(), "trusted_proxies"); n != 1 {
		t.Errorf("warnings about an untrusted loopback proxy: %d, want 1:\n%s", n, logs.String())
	}
}

func TestRateKeyGroupsIPv6By64(t *testing.T) {
	cases := map[string]string{
		"2001:db8:1:2:aaaa::1": "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::9": "2001:db8:1:2::/64",
		"2001:db8:1:3::1":      "2001:db8:1:3::/64",
		"203.0.113.5":          "203.0.113.5",
		"":                     "",
		"::ffff:203.0.113.5":   "::ffff:203.0.113.5",
	}
	for in, want := range cases {
		if got := rateKey(in); got != want {
			t.Errorf("rateKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAssetsServeFilesOnly(t *testing.T) {
	for path, want := range map[string]int{"/assets/": 404, "/assets": 404, "/assets/style.css": 200, "/assets/nope.css": 404, "/assets/../templates.go": 404} {
		w := httptest.NewRecorder()
		assets.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if w.Code != want {
			t.Errorf("GET %s: HTTP %d, want %d", path, w.Code, want)
		}
		if strings.Contains(w.Body.String(), "account.js") && path != "/assets/account.js" {
			t.Errorf("GET %s lists the directory", path)
		}
	}
}
