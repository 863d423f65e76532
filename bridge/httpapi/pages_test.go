package httpapi

import (
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge"
	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/templates"
)

func newTestServer(t *testing.T, mutate func(*Options)) *Server {
	t.Helper()
	o := testOptions(t, "http://127.0.0.1:8080")
	o.Providers = []ProviderLink{{Key: "gh", DisplayName: "GitHub", Type: "github"}, {Key: "corp", DisplayName: "Corp SSO", Type: "oidc"}}
	if mutate != nil {
		mutate(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func get(t *testing.T, h http.Handler, path string, header ...string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Result(), string(body)
}

const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"

func TestPrefersHTML(t *testing.T) {
	for accept, want := range map[string]bool{
		browserAccept:                           true,
		"text/html":                             true,
		"":                                      false,
		"*/*":                                   false, // fetch() and curl
		"application/json":                      false,
		"application/json, text/plain, */*":     false, // axios
		"text/html;q=0.5, application/json":     false,
		"application/json;q=0.5, text/html":     true,
		"text/plain":                            false,
		"application/xhtml+xml,text/html;q=0.9": true,
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if accept != "" {
			r.Header.Set("Accept", accept)
		}
		if got := prefersHTML(r); got != want {
			t.Errorf("prefersHTML(Accept: %q) = %v, want %v", accept, got, want)
		}
	}
}

func TestUnknownPathIsAPageForBrowsersAndJSONForAPIs(t *testing.T) {
	s := newTestServer(t, nil)
	resp, body := get(t, s, "/no/such/page", "Accept", browserAccept)
	if resp.StatusCode != 404 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(body, "Page not found") || resp.Header.Get("Content-Security-Policy") != pageCSP {
		t.Errorf("browser: %d %s CSP %q\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Security-Policy"), body)
	}
	for _, accept := range []string{"", "*/*", "application/json"} {
		resp, body := get(t, s, "/no/such/page", "Accept", accept)
		if resp.StatusCode != 404 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") ||
			!strings.Contains(body, `"type":"general_route_not_found"`) {
			t.Errorf("Accept %q: %d %s %s", accept, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
	// An API route keeps Appwrite's JSON even for a browser.
	resp, body = get(t, s, "/v1/account", "Accept", browserAccept)
	if resp.StatusCode != 401 || !strings.Contains(body, "general_unauthorized_scope") {
		t.Errorf("GET /v1/account from a browser: %d %s", resp.StatusCode, body)
	}
}

func TestLoginPageMessages(t *testing.T) {
	s := newTestServer(t, nil)
	for msg, want := range map[string]string{
		"signed_out":   "You have been signed out.",
		"revoked":      "Your session was revoked or has ended. Please sign in again.",
		"login_failed": "Sign-in failed. Please try again.",
	} {
		_, body := get(t, s, "/?msg="+msg)
		if !strings.Contains(body, `<p id="notice-text">`+want+`</p>`) {
			t.Errorf("?msg=%s: the page does not say %q", msg, want)
		}
	}
	for _, msg := range []string{"", "<script>alert(1)</script>", "other"} {
		_, body := get(t, s, "/?msg="+msg)
		if strings.Contains(body, `id="notice"`) || strings.Contains(body, "<script>alert") {
			t.Errorf("?msg=%q shows a notice or echoes the parameter", msg)
		}
	}
}

func TestLoginPageProvidersAndIcons(t *testing.T) {
	s := newTestServer(t, nil)
	_, body := get(t, s, "/")
	if !strings.Contains(body, `<span>Sign in with GitHub</span>`) || !strings.Contains(body, `<span>Sign in with Corp SSO</span>`) {
		t.Errorf("display names missing:\n%s", body)
	}
	if !strings.Contains(body, `href="/assets/icons.svg#github"`) {
		t.Errorf("the github preset has no icon")
	}
	// Every icon the page uses exists in the sprite; oidc has none.
	for _, m := range regexp.MustCompile(`icons\.svg#([a-z0-9-]+)`).FindAllStringSubmatch(body, -1) {
		if !s.icons[m[1]] {
			t.Errorf("the page references icon %q, which the sprite lacks", m[1])
		}
	}
	if strings.Count(body, "icons.svg#") != 1 {
		t.Errorf("want exactly one icon (github), page has %d", strings.Count(body, "icons.svg#"))
	}
	resp, sprite := get(t, s, "/assets/icons.svg")
	if resp.StatusCode != 200 || !strings.Contains(sprite, `<symbol id="github"`) {
		t.Errorf("icons.svg: %d", resp.StatusCode)
	}
}

func TestLoginFailedPageShowsProviderWordsEscaped(t *testing.T) {
	s := newTestServer(t, nil)
	req := httptest.NewRequest(http.MethodGet, "/v1/account/sessions/oauth2/callback/gh/default", nil)
	req.SetPathValue("provider", "gh")
	rec := httptest.NewRecorder()
	s.fail(rec, req, "", &bridge.Error{Type: bridge.TypeOAuth2ProviderError, Kind: bridge.KindProviderFailed,
		Message: "The gh provider refused the login: access_denied", ProviderDescription: `<img src=x onerror=alert(1)> "no"`})
	body := rec.Body.String()
	if rec.Code != http.StatusFailedDependency || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("status %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	if strings.Contains(body, "<img src=x") || !strings.Contains(body, html.EscapeString(`<img src=x onerror=alert(1)>`)) {
		t.Errorf("the provider's description is not shown escaped:\n%s", body)
	}
	if !strings.Contains(body, "GitHub said:") || !strings.Contains(body, `id="login-gh"`) {
		t.Errorf("want the login page with the provider's display name and its buttons:\n%s", body)
	}
	// Without a description (e.g. a state that did not validate): no detail.
	rec = httptest.NewRecorder()
	s.fail(rec, req, "", bridge.ErrArgument("The login state is missing."))
	if rec.Code != 400 || strings.Contains(rec.Body.String(), "notice-detail") || !strings.Contains(rec.Body.String(), "Sign-in failed.") {
		t.Errorf("state failure: %d\n%s", rec.Code, rec.Body.String())
	}
}

func TestDevNoticeSurvivesTemplateOverrides(t *testing.T) {
	dir := t.TempDir()
	// An override layout that leaves the notice out, and a login page of its own.
	layout := `{{define "head"}}<!doctype html><html><head><title>x</title></head><BODY class="mine">{{end}}{{define "foot"}}</body></html>{{end}}`
	login := `{{define "login.html"}}{{template "head" .}}<h1 id="custom">Welcome to Acme</h1>{{template "foot" .}}{{end}}`
	for name, text := range map[string]string{"layout.html": layout, "login.html": login} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s := newTestServer(t, func(o *Options) { o.Branding.TemplatesDir, o.Dev = dir, true })
	_, body := get(t, s, "/")
	if !strings.Contains(body, `<h1 id="custom">Welcome to Acme</h1>`) {
		t.Fatalf("the override was not used:\n%s", body)
	}
	i, j := strings.Index(body, `<BODY class="mine">`), strings.Index(body, `id="devbanner"`)
	if j < 0 || j < i {
		t.Errorf("the development-mode notice is missing or not first in the body:\n%s", body)
	}
	s = newTestServer(t, func(o *Options) { o.Branding.TemplatesDir = dir })
	if _, body := get(t, s, "/"); strings.Contains(body, "devbanner") {
		t.Errorf("the notice shows outside development mode")
	}
}

func TestBranding(t *testing.T) {
	logo := []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)
	s := newTestServer(t, func(o *Options) {
		o.Branding = Branding{AppName: "Acme <Cloud>", Logo: logo, LogoType: "image/svg+xml", PrimaryColor: "#063"}
	})
	_, body := get(t, s, "/")
	if !strings.Contains(body, "Sign in to Acme &lt;Cloud&gt;") || !strings.Contains(body, `src="/assets/logo"`) ||
		!strings.Contains(body, "<title>Sign in · Acme &lt;Cloud&gt;</title>") {
		t.Errorf("branding not on the login page:\n%s", body)
	}
	resp, got := get(t, s, "/assets/logo")
	if resp.StatusCode != 200 || got != string(logo) || resp.Header.Get("Content-Type") != "image/svg+xml" ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("logo: %d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Security-Policy"))
	}
	resp, css := get(t, s, "/assets/brand.css")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") || !strings.Contains(css, "--primary:#006633") {
		t.Errorf("brand.css: %d %s", resp.StatusCode, css)
	}
	// Without a logo the built-in mark is used and /assets/logo does not exist.
	s = newTestServer(t, nil)
	if _, body := get(t, s, "/"); !strings.Contains(body, `<svg class="logo mark"`) || !strings.Contains(body, "Sign in to sessionbridge") {
		t.Errorf("default branding:\n%s", body)
	}
	if resp, _ := get(t, s, "/assets/logo"); resp.StatusCode != 404 {
		t.Errorf("/assets/logo without a logo: %d", resp.StatusCode)
	}
	if resp, css := get(t, s, "/assets/brand.css"); resp.StatusCode != 200 || !strings.Contains(css, "--primary:"+defaultPrimary) {
		t.Errorf("default brand.css: %s", css)
	}
	// A colour white text cannot be read on is refused.
	o := testOptions(t, "http://127.0.0.1:8080")
	o.Branding.PrimaryColor = "#7fb3ff"
	if _, err := New(o); err == nil || !strings.Contains(err.Error(), "contrast") {
		t.Errorf("New with a light primary colour: %v", err)
	}
}

func TestTokenState(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	cat, err := templates.Catalogs()
	if err != nil {
		t.Fatal(err)
	}
	en := cat["en"]
	sealed := []byte("sealed")
	for _, c := range []struct {
		name string
		sess store.Session
		want string
	}{
		{"renewed", store.Session{AccessTokenSealed: sealed, AccessTokenExpiry: now.Add(time.Hour), RefreshAt: now.Add(55 * time.Minute)}, "fresh"},
		{"failing", store.Session{AccessTokenSealed: sealed, AccessTokenExpiry: now.Add(time.Hour), RefreshAt: now.Add(time.Minute), RefreshFailures: 2}, "failing"},
		{"not renewed", store.Session{AccessTokenSealed: sealed, AccessTokenExpiry: now.Add(time.Hour)}, "valid"},
		{"expired", store.Session{AccessTokenSealed: sealed, AccessTokenExpiry: now.Add(-time.Minute)}, "expired"},
		{"no expiry", store.Session{AccessTokenSealed: sealed}, "noexpiry"},
		{"no token", store.Session{}, "none"},
	} {
		got := tokenState(c.sess, now, en)
		if got.State != c.want || got.Label == "" || strings.HasPrefix(got.Label, "[missing") {
			t.Errorf("%s: %+v, want state %s", c.name, got, c.want)
		}
	}
	if got := tokenState(store.Session{AccessTokenSealed: sealed, RefreshFailures: 1, AccessTokenExpiry: now.Add(time.Hour), RefreshAt: now}, now, en); got.Label != "Refresh failing — sign in again soon" {
		t.Errorf("failing label = %q", got.Label)
	}
}

func TestDeviceLabelAndInitials(t *testing.T) {
	en := map[string]string{"account.unknown_device": "Unknown device"}
	for _, c := range []struct {
		client store.Client
		want   string
	}{
		{store.Client{ClientName: "Chrome", OSName: "Windows", OSVersion: "10", DeviceName: "desktop"}, "Chrome, Windows 10"},
		{store.Client{ClientName: "Safari", OSName: "iOS", OSVersion: "17.4", DeviceName: "smartphone", DeviceBrand: "Apple", DeviceModel: "iPhone"}, "Safari, iOS 17.4, Apple iPhone"},
		{store.Client{}, "Unknown device"},
	} {
		if got := deviceLabel(c.client, en); got != c.want {
			t.Errorf("deviceLabel(%+v) = %q, want %q", c.client, got, c.want)
		}
	}
	for _, c := range [][3]string{{"Ada Lovelace", "", "AL"}, {"ada byron lovelace", "", "AL"}, {"Ada", "", "A"}, {"", "zoe@example.com", "Z"}, {"", "", "?"}, {"  Émile  Zola ", "", "ÉZ"}} {
		if got := initials(c[0], c[1]); got != c[2] {
			t.Errorf("initials(%q, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
}

// TestAccountFormsWithoutSession: the account page's form routes send a
// browser without a session to the login page (saying its session ended
// when it still had a cookie), and opened as pages lead to /account.
func TestAccountFormsWithoutSession(t *testing.T) {
	s := newTestServer(t, nil)
	post := func(path, cookie string) *http.Response {
		req := httptest.NewRequest(http.MethodPost, path, nil)
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: "a_session_default", Value: cookie})
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec.Result()
	}
	for path, want := range map[string]string{
		"/account/sign-out":          "/?msg=signed_out",
		"/account/sign-out-others":   "/",
		"/account/sessions/x/revoke": "/",
	} {
		resp := post(path, "")
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
			t.Errorf("POST %s without a session: %d %s, want 303 %s", path, resp.StatusCode, resp.Header.Get("Location"), want)
		}
		if path != "/account/sign-out" {
			if resp := post(path, "stale"); resp.Header.Get("Location") != "/?msg=revoked" {
				t.Errorf("POST %s with a stale cookie: %s", path, resp.Header.Get("Location"))
			}
		}
		if resp, _ := get(t, s, path, "Accept", browserAccept); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account" {
			t.Errorf("GET %s: %d %s", path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if resp, _ := get(t, s, "/account", "Cookie", "a_session_default=stale"); resp.Header.Get("Location") != "/?msg=revoked" {
		t.Errorf("GET /account with a stale cookie: %s", resp.Header.Get("Location"))
	}
	if resp, _ := get(t, s, "/account"); resp.Header.Get("Location") != "/" {
		t.Errorf("GET /account without a cookie: %s", resp.Header.Get("Location"))
	}
}
