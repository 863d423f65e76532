package httpapi

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge"
	"github.com/sessionbridge/sessionbridge/templates"
)

type allowAll struct{}

func (allowAll) AllowsURL(string) bool    { return true }
func (allowAll) AllowsOrigin(string) bool { return true }

func testOptions(t *testing.T, public string) Options {
	t.Helper()
	tmpl, err := templates.Parse()
	if err != nil {
		t.Fatal(err)
	}
	return Options{Service: bridge.New(bridge.Options{}), Project: "default", PublicURL: public,
		Allowlist: allowAll{}, SessionKeys: [][]byte{make([]byte, 32)}, Templates: tmpl}
}

func TestSameSiteNoneNeedsHTTPS(t *testing.T) {
	o := testOptions(t, "http://127.0.0.1:8080")
	o.SameSite = http.SameSiteNoneMode
	if _, err := New(o); err == nil || !strings.Contains(err.Error(), "https") {
		t.Fatalf("SameSite=None on http: err = %v", err)
	}
	o.PublicURL = "https://auth.example"
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	c := s.sessionCookie("v", time.Now().Add(time.Hour))
	if !c.Secure || c.SameSite != http.SameSiteNoneMode || !c.HttpOnly || c.Path != "/" {
		t.Fatalf("cookie = %+v", c)
	}
	o.SameSite = http.SameSiteDefaultMode
	if s, err = New(o); err != nil || s.sameSite != http.SameSiteLaxMode {
		t.Fatalf("default SameSite: %v %v", s.sameSite, err)
	}
}

func TestRateLimitDefaults(t *testing.T) {
	l := newLimiters(RateLimits{}, time.Now)
	for name, got := range map[string]int{"sessionStart": l.sessionStart.Limit(), "tokenStart": l.tokenStart.Limit(),
		"callback": l.callback.Limit(), "token": l.token.Limit()} {
		want := DefaultLoginLimit
		if name == "token" {
			want = DefaultTokenLimit
		}
		if got != want {
			t.Errorf("%s limit = %d, want %d", name, got, want)
		}
	}
	if l.token.Window() != time.Hour {
		t.Errorf("window = %v", l.token.Window())
	}
	l = newLimiters(RateLimits{Callback: RateLimit{Limit: -1}, Token: RateLimit{Limit: 3, Window: time.Minute}}, time.Now)
	if l.callback != nil || l.token.Limit() != 3 || l.token.Window() != time.Minute {
		t.Fatalf("overrides not applied: %+v", l)
	}
	if truncate(strings.Repeat("x", 100), 64) != strings.Repeat("x", 64) || truncate("ab", 64) != "ab" {
		t.Fatal("truncate")
	}
}
