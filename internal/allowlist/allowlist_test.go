package allowlist

import (
	"net/url"
	"strings"
	"testing"
)

func testList(t *testing.T) *List {
	t.Helper()
	l, err := New("https://auth.example.com/", []string{
		"https://app.example.com",
		"https://*.apps.example.net",
		"http://localhost:3000",
		"https://App.Example.org:8443/",
		"http://[::1]:5173",
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestAllowsURL(t *testing.T) {
	l := testList(t)
	tests := []struct {
		url  string
		want bool
	}{
		{"https://auth.example.com/account", true},
		{"https://auth.example.com", true},
		{"https://auth.example.com:443/x?y=1#z", true},
		{"HTTPS://AUTH.EXAMPLE.COM/Path", true},
		{"https://app.example.com/done?x=1", true},
		{"https://app.example.com:443/done", true},
		{"https://one.apps.example.net/cb", true},
		{"https://ONE.apps.example.net/cb", true},
		{"http://localhost:3000/", true},
		{"https://app.example.org:8443/x", true},
		{"http://[::1]:5173/x", true},
		{"http://[0:0::1]:5173/x", true},

		// Relative and scheme-relative forms.
		{"/account", false},
		{"//evil.com", false},
		{"//evil.com/https://app.example.com", false},
		{`/\evil.com`, false},
		{`\\evil.com`, false},
		{"https:evil.com", false},
		{"https:/evil.com", false},
		{"https:///evil.com", false},
		{"", false},
		// Other schemes.
		{"javascript:alert(1)//https://app.example.com", false},
		{"data:text/html,<script>alert(1)</script>", false},
		{"ftp://app.example.com/", false},
		{"http://app.example.com/", false},        // wrong scheme
		{"https://auth.example.com:8443/", false}, // wrong port
		{"https://app.example.com:0/", false},
		{"https://app.example.com:99999/", false},
		{"https://app.example.com:/", false},
		{"https://app.example.com:44x/", false},
		{"http://localhost/", false},
		{"http://localhost:3001/", false},
		// Userinfo tricks.
		{"https://app.example.com@evil.com/", false},
		{"https://app.example.com:443@evil.com/", false},
		{`https://evil.com\@app.example.com/`, false},
		{"https://evil.com%40app.example.com/", false},
		{"https://user:pw@app.example.com/", false},
		// Backslashes, whitespace, control characters.
		{`https://app.example.com\evil.com`, false},
		{`https:\\evil.com`, false},
		{"https://app.example.com/a b", false},
		{" https://app.example.com/", false},
		{"https://app.example.com/\t", false},
		{"https://app.example.com/\n", false},
		{"https://app.example.com\x00.evil.com/", false},
		{"https://app.example.com\x7f/", false},
		// Look-alike hosts.
		{"https://app.example.com.evil.com/", false},
		{"https://evilapp.example.com/", false},
		{"https://apps.example.net/", false},      // the wildcard needs one label
		{"https://evilapps.example.net/", false},  // not a subdomain
		{"https://a.b.apps.example.net/", false},  // one level only
		{"https://.apps.example.net/", false},     // empty label
		{"https://app.example.com./", false},      // trailing dot refused
		{"https://one.apps.example.net./", false}, // trailing dot refused
		{"https://app%2eexample.com/", false},     // percent-encoded host
		{"https://app.exаmple.com/", false},       // Cyrillic a
		{"https://-x.apps.example.net/", false},   // invalid label
		{"https://[::1%25eth0]:5173/", false},     // zone
		{"https://auth.example.com.evil.com/", false},
	}
	for _, tt := range tests {
		if got := l.AllowsURL(tt.url); got != tt.want {
			t.Errorf("AllowsURL(%q) = %v, want %v", tt.url, got, tt.want)
		}
	}
}

func TestAllowsOrigin(t *testing.T) {
	l := testList(t)
	tests := []struct {
		origin string
		want   bool
	}{
		{"https://auth.example.com", true},
		{"https://app.example.com", true},
		{"https://x.apps.example.net", true},
		{"http://localhost:3000", true},
		{"https://app.example.org:8443", true},
		{"http://[::1]:5173", true},
		{"null", false},
		{"", false},
		{"https://app.example.com/", false}, // an Origin header has no path
		{"https://app.example.com/x", false},
		{"https://app.example.com?x", false},
		{"http://app.example.com", false},
		{"https://app.example.com:8443", false},
		{"https://app.example.com.evil.com", false},
		{"https://a.b.apps.example.net", false},
		{"https://evil.com", false},
		{"https://app.example.com@evil.com", false},
	}
	for _, tt := range tests {
		if got := l.AllowsOrigin(tt.origin); got != tt.want {
			t.Errorf("AllowsOrigin(%q) = %v, want %v", tt.origin, got, tt.want)
		}
	}
}

func TestValidatePattern(t *testing.T) {
	tests := []struct {
		pattern string
		ok      bool
	}{
		{"https://app.example.com", true},
		{"https://app.example.com/", true},
		{"https://*.example.com", true},
		{"http://localhost:3000", true},
		{"http://*.localhost:3000", true},
		{"http://127.0.0.1:8080", true},
		{"http://[::1]:8080", true},
		{"https://app.example.com/path", false},
		{"https://app.example.com?x=1", false},
		{"https://app.example.com#x", false},
		{"app.example.com", false},
		{"//app.example.com", false},
		{"ftp://app.example.com", false},
		{"https://*", false},
		{"https://*.com", false},
		{"https://*.*.example.com", false},
		{"https://a.*.example.com", false},
		{"https://a*.example.com", false},
		{"https://*example.com", false},
		{"*://app.example.com", false},
		{"https://*.1.2.3.4", false},
		{"https://user@app.example.com", false},
		{"https://app.example.com.", false},
		{"https://app.example.com:0", false},
		{"https:// app.example.com", false},
		{"", false},
	}
	for _, tt := range tests {
		err := ValidatePattern(tt.pattern)
		if (err == nil) != tt.ok {
			t.Errorf("ValidatePattern(%q) = %v, want ok=%v", tt.pattern, err, tt.ok)
		}
	}
}

func TestNew(t *testing.T) {
	if _, err := New("https://auth.example.com/path", nil); err == nil {
		t.Error("New accepted an own origin with a path")
	}
	if _, err := New("https://auth.example.com", []string{"https://*"}); err == nil {
		t.Error("New accepted an invalid pattern")
	}
	l, err := New("http://127.0.0.1:8080", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Origin(); got != "http://127.0.0.1:8080" {
		t.Errorf("Origin() = %q", got)
	}
	if !l.AllowsURL("http://127.0.0.1:8080/account") || l.AllowsURL("http://localhost:8080/account") {
		t.Error("own origin matching is wrong")
	}
	l, err = New("https://auth.example.com:443", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Origin(); got != "https://auth.example.com" {
		t.Errorf("Origin() = %q, want the default port dropped", got)
	}
}

// FuzzAllowsURL checks that an allowed URL always has an allowed origin as
// net/url sees it. Run with: go test -fuzz=FuzzAllowsURL ./internal/allowlist
func FuzzAllowsURL(f *testing.F) {
	for _, s := range []string{"https://app.example.com/x", "https://a.apps.example.net", `https://evil.com\@app.example.com`, "//evil.com"} {
		f.Add(s)
	}
	l, err := New("https://auth.example.com", []string{"https://app.example.com", "https://*.apps.example.net"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if !l.AllowsURL(raw) {
			return
		}
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("allowed %q that net/url rejects: %v", raw, err)
		}
		host := strings.ToLower(u.Hostname())
		if host != "auth.example.com" && host != "app.example.com" && !strings.HasSuffix(host, ".apps.example.net") {
			t.Fatalf("allowed %q with host %q", raw, host)
		}
	})
}
