package httpapi

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

type allowAll struct{}

func (allowAll) AllowsURL(string) bool    { return true }
func (allowAll) AllowsOrigin(string) bool { return true }

func testOptions(t *testing.T, public string) Options {
	t.Helper()
	return Options{Service: newFakeService(time.Now()), Project: "default", PublicURL: public,
		Allowlist: allowAll{}, SessionKeys: [][]byte{make([]byte, 32)}}
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

// A provider without a display name is labelled with its key; one with a
// display name shows it.
func TestLoginPageLabels(t *testing.T) {
	o := testOptions(t, "http://127.0.0.1:8080")
	o.Providers = []ProviderLink{{Key: "corp"}, {Key: "gh", DisplayName: "GitHub <Org>"}}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	body := rec.Body.String()
	if rec.Code != http.StatusOK || !strings.Contains(body, "Sign in with corp<") || !strings.Contains(body, "Sign in with GitHub &lt;Org&gt;<") {
		t.Fatalf("HTTP %d\n%s", rec.Code, body)
	}
}

func TestScopesParam(t *testing.T) {
	q, _ := url.ParseQuery("scopes%5B1%5D=b&scopes%5B0%5D=a&scopes%5B10%5D=c&scopes%5Bx%5D=no&scopes%5B%5D=d&scopes=e&scopes=+")
	if got := strings.Join(scopesParam(q), ","); got != "d,e,a,b,c" {
		t.Fatalf("scopes = %q", got)
	}
}
