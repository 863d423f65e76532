package app

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sessionbridge/sessionbridge/bridge/config"
)

// page fetches u as a browser navigation and returns the status and body.
func (b *browser) page(t *testing.T, u string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("User-Agent", b.UserAgent)
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	resp, err := b.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", redactURL(u), err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestLoginErrorDescriptionOnlyAfterValidState: the provider's
// error_description reaches the login page, escaped, when the callback's
// state belongs to this browser's login; a crafted callback shows nothing
// of what it carries.
func TestLoginErrorDescriptionOnlyAfterValidState(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	const said = `<b>You said "no"</b> & left`

	b := h.browser()
	b.StopAtCallback = true
	resp := b.get(t, h.startURL(h.srv.URL+"/account", "")) // the login page's own login: no failure URL
	cb, err := resp.Location()
	if err != nil || !strings.Contains(cb.Path, "/oauth2/callback/corp/default") {
		t.Fatalf("want a redirect to the callback, got %d %v", resp.StatusCode, cb)
	}
	q := cb.Query()
	q.Del("code")
	q.Set("error", "access_denied")
	q.Set("error_description", said)
	cb.RawQuery = q.Encode()
	status, body := b.page(t, cb.String())
	if status != http.StatusFailedDependency {
		t.Errorf("provider refusal without a failure URL: HTTP %d, want 424", status)
	}
	if !strings.Contains(body, html.EscapeString(said)) || strings.Contains(body, "<b>You said") {
		t.Errorf("the provider's description is not on the page as escaped text:\n%s", body)
	}
	if !strings.Contains(body, "Corp SSO said:") || !strings.Contains(body, `id="login-corp"`) {
		t.Errorf("want the login page naming the provider:\n%s", body)
	}

	// Anyone can craft a callback URL: with a state this browser did not
	// start, the page shows the failure but none of the crafted words.
	forged := h.srv.URL + "/v1/account/sessions/oauth2/callback/corp/default?state=forged&error=access_denied&error_description=Call+0800+FORGED"
	status, body = h.browser().page(t, forged)
	if status < 400 || status >= 500 || strings.Contains(body, "FORGED") || !strings.Contains(body, "Sign-in failed.") {
		t.Errorf("crafted callback: HTTP %d\n%s", status, body)
	}
}

// TestBrandingFromConfig: branding.* reach the pages: the app name, the
// logo served by the bridge, the generated colour stylesheet and an
// override template.
func TestBrandingFromConfig(t *testing.T) {
	dir := t.TempDir()
	logo := filepath.Join(dir, "acme.png")
	png := []byte("\x89PNG\r\n\x1a\nnot really")
	tdir := filepath.Join(dir, "templates")
	if err := os.Mkdir(tdir, 0o700); err != nil {
		t.Fatal(err)
	}
	override := `{{define "error.html"}}{{template "head" .}}<h1 id="acme-error">Acme: {{.Error.Heading}}</h1>{{template "foot" .}}{{end}}`
	if err := os.WriteFile(filepath.Join(tdir, "error.html"), []byte(override), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(logo, png, 0o600); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, harnessOptions{mutateConf: func(c *config.Config) {
		c.Branding = config.Branding{AppName: "Acme Cloud", Logo: logo, PrimaryColor: "#14532d", TemplatesDir: tdir}
	}})
	b := h.browser()
	_, body := b.page(t, h.srv.URL+"/")
	if !strings.Contains(body, "Sign in to Acme Cloud") || !strings.Contains(body, `src="/assets/logo"`) {
		t.Errorf("login page without the branding:\n%s", body)
	}
	if status, got := b.page(t, h.srv.URL+"/assets/logo"); status != 200 || got != string(png) {
		t.Errorf("/assets/logo: %d", status)
	}
	if _, css := b.page(t, h.srv.URL+"/assets/brand.css"); !strings.Contains(css, "--primary:#14532d") {
		t.Errorf("brand.css = %q", css)
	}
	if status, body := b.page(t, h.srv.URL+"/nowhere"); status != 404 || !strings.Contains(body, `<h1 id="acme-error">Acme: Page not found</h1>`) {
		t.Errorf("override not used: %d\n%s", status, body)
	}
	if err := CheckPages(h.cfg); err != nil {
		t.Errorf("CheckPages: %v", err)
	}
	if err := os.WriteFile(filepath.Join(tdir, "broken.html"), []byte(`{{define "x"}}{{.Nope`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := CheckPages(h.cfg); err == nil || !strings.Contains(err.Error(), "broken.html") {
		t.Errorf("CheckPages with a broken override: %v", err)
	}
	// serve refuses to start with it; the refresh daemon serves no page
	// and loads none.
	log := slog.New(slog.NewTextHandler(h.logs, nil))
	if a, err := Build(context.Background(), h.cfg, log, Options{}); err == nil || !strings.Contains(err.Error(), "broken.html") {
		t.Errorf("Build with a broken override: %v", err)
		if a != nil {
			a.Close()
		}
	}
	a, err := Build(context.Background(), h.cfg, log, Options{OpsOnly: true})
	if err != nil {
		t.Fatalf("Build of the refresh daemon with a broken override: %v", err)
	}
	defer a.Close()
	if a.Handler != nil || a.OpsHandler == nil {
		t.Errorf("the refresh daemon has an API handler")
	}
}

// post submits an account page form as the browser would (same origin)
// and returns the page it ends on.
func (b *browser) post(t *testing.T, u, origin string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(""))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", origin)
	req.Header.Set("Accept", "text/html")
	req.Header.Set("User-Agent", b.UserAgent)
	resp, err := b.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// TestAccountForms: the account page's forms end sessions on the server
// and say what happened in the page: revoke (and a revoke that can no
// longer happen), sign out every other session, sign out.
func TestAccountForms(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	browsers := []*browser{h.browser(), h.browser(), h.browser()}
	for _, b := range browsers {
		h.login(t, b)
	}
	if n := h.countSessions(t); n != 3 {
		t.Fatalf("%d sessions after three logins", n)
	}
	me := browsers[0]
	_, page := me.page(t, h.srv.URL+"/account")
	ids := regexp.MustCompile(`<li class="session[^"]*" id="session-([a-z0-9]+)"`).FindAllStringSubmatch(page, -1)
	if len(ids) != 3 || !strings.Contains(page, `id="this-device"`) {
		t.Fatalf("account page lists %d sessions:\n%s", len(ids), page)
	}
	current := ids[0][1] // this device comes first
	other := ids[1][1]

	// Revoke asks first. Without the script the ask form reloads the page
	// with ?revoke=ID, which shows the confirmation; nothing ends yet.
	confirmShown := regexp.MustCompile(`<form class="confirm" method="post" action="/account/sessions/` + other + `/revoke" role="group" aria-labelledby="confirm-` + other + `">`)
	if confirmShown.MatchString(page) {
		t.Fatalf("the confirmation shows before the user asked to revoke")
	}
	_, page = me.page(t, h.srv.URL+"/account?revoke="+other)
	if !confirmShown.MatchString(page) || !strings.Contains(page, "autofocus") || h.countSessions(t) != 3 {
		t.Fatalf("no confirmation for %s, or a session ended:\n%s", other, page)
	}
	resp, page := me.post(t, h.srv.URL+"/account/sessions/"+other+"/revoke", h.srv.URL)
	if resp.Request.URL.RequestURI() != "/account?msg=revoked_one" || !strings.Contains(page, "The session was revoked.") || h.countSessions(t) != 2 {
		t.Errorf("revoke: at %s with %d sessions", resp.Request.URL, h.countSessions(t))
	}
	resp, page = me.post(t, h.srv.URL+"/account/sessions/"+other+"/revoke", h.srv.URL)
	if resp.Request.URL.RequestURI() != "/account?msg=revoke_failed" || !strings.Contains(page, `role="alert"`) {
		t.Errorf("revoking a gone session: at %s\n%s", resp.Request.URL, page)
	}
	// The current session cannot be revoked through this route (Sign out ends it).
	me.post(t, h.srv.URL+"/account/sessions/"+current+"/revoke", h.srv.URL)
	if h.countSessions(t) != 2 {
		t.Errorf("the revoke route ended the current session")
	}

	resp, page = me.post(t, h.srv.URL+"/account/sign-out-others", h.srv.URL)
	if resp.Request.URL.RequestURI() != "/account?msg=others_signed_out" || !strings.Contains(page, "All other sessions were signed out.") || h.countSessions(t) != 1 {
		t.Errorf("sign out others: at %s with %d sessions", resp.Request.URL, h.countSessions(t))
	}
	if strings.Contains(page, `id="signout-others"`) {
		t.Errorf("the page still offers to sign out other sessions when there are none")
	}

	resp, page = me.post(t, h.srv.URL+"/account/sign-out", h.srv.URL)
	if resp.Request.URL.RequestURI() != "/?msg=signed_out" || !strings.Contains(page, "You have been signed out.") || h.countSessions(t) != 0 {
		t.Errorf("sign out: at %s with %d sessions", resp.Request.URL, h.countSessions(t))
	}
	if h.sessionCookie(t, me) != "" {
		t.Errorf("the session cookie survived signing out")
	}
}
