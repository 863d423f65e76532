package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/sessionbridge/sessionbridge/internal/testenv"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testbrowser"
)

// browserBound limits the whole browser scenario so a page that never
// shows an element fails the test instead of hanging it.
const browserBound = 90 * time.Second

// sessionCookie is the session cookie of development mode's project.
const sessionCookie = "a_session_default"

// newBrowser starts a headless chromium (testbrowser: skipped without one,
// except in CI) with a fresh profile (chromedp makes a new temporary
// user-data-dir and removes it) and returns a tab context bounded by
// browserBound.
func newBrowser(t *testing.T) (context.Context, *testenv.Buffer) {
	t.Helper()
	out := &testenv.Buffer{}
	opts := append(testbrowser.Options(testbrowser.Chromium(t)),
		chromedp.WindowSize(1100, 800),
		chromedp.CombinedOutput(out),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithErrorf(func(format string, args ...any) {
		fmt.Fprintf(out, "chromedp: "+format+"\n", args...)
	}))
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		if t.Failed() {
			t.Logf("chromium output:\n%s", out.String())
		}
	})
	// The first Do starts the browser and binds its life to ctx, so it runs
	// on the untimed context; the returned one bounds only the actions.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v\n%s", err, out.String())
	}
	tctx, cancel := context.WithTimeout(ctx, browserBound)
	t.Cleanup(cancel)
	return tctx, out
}

// sessionRowView is one row of the account page's session table.
type sessionRowView struct {
	ID       string `json:"id"`
	Current  bool   `json:"current"`
	Provider string `json:"provider"`
	Expiry   string `json:"expiry"`
}

// readSessionRows reads table#sessions; the provider column is found by its
// header so the test does not depend on the column order.
const readSessionRows = `(() => {
  const heads = Array.from(document.querySelectorAll('#sessions thead th')).map(th => th.textContent.trim().toLowerCase());
  const pi = heads.indexOf('provider');
  return Array.from(document.querySelectorAll('#sessions tbody tr[data-id]')).map(r => ({
    id: r.dataset.id,
    current: r.classList.contains('current'),
    provider: pi >= 0 && r.cells[pi] ? r.cells[pi].textContent.trim() : '',
    expiry: (r.querySelector('td.expiry') || {dataset: {}}).dataset.expiry || '',
  }));
})()`

func TestBrowserLoginAccountRevokeSignOut(t *testing.T) {
	t.Parallel()
	ctx, _ := newBrowser(t)
	dir := t.TempDir()
	s := startServe(t, dir, nil)
	base := s.url

	// An alert() on the account page blocks every later action; answer it
	// and report its text, which says what failed.
	var dialogMu sync.Mutex
	var dialogs []string
	dialogEvents := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogEvents {
			if err != nil {
				return
			}
			dialogMu.Lock()
			dialogs = append(dialogs, ev.Message)
			dialogMu.Unlock()
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	t.Cleanup(func() {
		dialogMu.Lock()
		defer dialogMu.Unlock()
		for _, m := range dialogs {
			t.Errorf("the page showed a dialog: %q", m)
		}
	})

	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			t.Fatalf("%s: %v (page at %s)", what, err, loc)
		}
	}

	// signIn goes through the login page and the fake provider's form.
	signIn := func(name, email string) {
		t.Helper()
		do("open the login page", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("login-dev")))
		label, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("login-dev")))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(label, "Sign in with Dev") {
			t.Errorf("sign-in control reads %q, want it to name the Dev provider", label)
		}
		do("go to the dev provider", chromedp.Click(chromedp.ID("login-dev")), chromedp.WaitVisible(chromedp.ID("email")))
		do("fill in and submit the provider's form",
			chromedp.SetValue(chromedp.ID("email"), email),
			chromedp.SetValue(chromedp.ID("name"), name),
			chromedp.Click(chromedp.CSS(`button[name="action"][value="approve"]`)),
			chromedp.WaitVisible(chromedp.ID("sessions")))
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		if loc != base+"/account" {
			t.Errorf("after signing in the browser is at %s, want %s/account", loc, base)
		}
	}
	rows := func() []sessionRowView {
		t.Helper()
		r, err := chromedp.Run(ctx, chromedp.Evaluate[[]sessionRowView](readSessionRows))
		if err != nil {
			t.Fatalf("read the session table: %v", err)
		}
		return r
	}
	cookie := func() string {
		t.Helper()
		res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/"}})
		if err != nil {
			t.Fatalf("read cookies: %v", err)
		}
		for _, c := range res.Cookies {
			if c.Name == sessionCookie && c.Value != "" {
				if !c.HTTPOnly || c.Path != "/" || c.Secure {
					t.Errorf("cookie %s: HttpOnly=%v Path=%q Secure=%v, want HttpOnly, Path=/ and not Secure on http", c.Name, c.HTTPOnly, c.Path, c.Secure)
				}
				return c.Value
			}
		}
		return ""
	}

	const name, email = "Ada Lovelace", "ada@example.com"
	before := time.Now().Add(-time.Second)

	// First login.
	signIn(name, email)
	firstCookie := cookie()
	if firstCookie == "" {
		t.Fatalf("no %s cookie after signing in", sessionCookie)
	}
	gotEmail, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("user-email")))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(gotEmail) != email {
		t.Errorf("account page shows email %q, want %q", gotEmail, email)
	}
	first := rows()
	if len(first) != 1 {
		t.Fatalf("account page lists %d sessions after one login, want 1: %+v", len(first), first)
	}
	checkRow(t, first[0], before)
	if !first[0].Current {
		t.Errorf("the only session is not marked current: %+v", first[0])
	}
	if u := accountAs(t, s, firstCookie); u.Email != email || u.Name != name {
		t.Errorf("GET /v1/account = %+v, want %s <%s>", u, name, email)
	}
	accessToken := checkCurrentSessionAPI(t, s, firstCookie, first[0].ID)

	// Second login in the same browser: a new session, the first stays.
	signIn(name, email)
	secondCookie := cookie()
	if secondCookie == "" || secondCookie == firstCookie {
		t.Fatalf("the second login did not set a new session cookie")
	}
	both := rows()
	if len(both) != 2 {
		t.Fatalf("account page lists %d sessions after two logins, want 2: %+v", len(both), both)
	}
	var current, other sessionRowView
	for _, r := range both {
		checkRow(t, r, before)
		if r.Current {
			current = r
		} else {
			other = r
		}
	}
	if current.ID == "" || other.ID != first[0].ID {
		t.Fatalf("want the new session current and the first one listed too: %+v", both)
	}
	writeScreenshot(t, ctx)

	// Revoke the first session from the page: it must stop authenticating.
	do("revoke the other session",
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`tr[data-id=%q] button.revoke`, other.ID))),
		chromedp.WaitNotPresent(chromedp.CSS(fmt.Sprintf(`tr[data-id=%q]`, other.ID))),
		chromedp.WaitVisible(chromedp.ID("sessions")))
	if left := rows(); len(left) != 1 || left[0].ID != current.ID {
		t.Errorf("after revoking, the page lists %+v, want only %s", left, current.ID)
	}
	expectUnauthorized(t, s, firstCookie, "the revoked session")
	if u := accountAs(t, s, secondCookie); u.Email != email {
		t.Errorf("revoking the other session ended the current one too: %+v", u)
	}

	// Sign out: the current session ends on the server and the browser is
	// sent to the login page.
	do("sign out", chromedp.Click(chromedp.ID("signout")), chromedp.WaitVisible(chromedp.ID("login-dev")))
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err != nil || loc != base+"/?msg=signed_out" {
		t.Errorf("signing out ended at %q (%v), want the login page with the signed-out message", loc, err)
	}
	expectUnauthorized(t, s, secondCookie, "the signed-out session")
	if c := cookie(); c != "" {
		t.Errorf("the session cookie is still set in the browser after signing out")
	}
	do("open /account after signing out", chromedp.Navigate(base+"/account"), chromedp.WaitVisible(chromedp.ID("login-dev")))
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err != nil || loc != base+"/" {
		t.Errorf("/account after signing out ended at %q (%v), want the login page %s/", loc, err, base)
	}

	s.stop()

	// No cookie value, token or key may reach the log.
	secrets := map[string]string{"first session cookie": firstCookie, "second session cookie": secondCookie,
		"provider access token": accessToken}
	for k, v := range devKeys(t, dir) {
		secrets["generated "+k] = v
	}
	logText := s.log.String()
	if !strings.Contains(logText, `msg="http request"`) {
		t.Errorf("no access log line: the scan below would not cover the access log")
	}
	for what, v := range secrets {
		if len(v) >= 8 && strings.Contains(logText, v) {
			t.Errorf("the server log contains the %s", what)
		}
	}
}

// devKeys reads the string values of the development-mode key files (JSON
// objects) in the data folder, keyed by their JSON names.
func devKeys(t *testing.T, dir string) map[string]string {
	t.Helper()
	data := filepath.Join(dir, "sessionbridge-data")
	entries, err := os.ReadDir(data)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(data, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if json.Unmarshal(b, &m) != nil {
			continue
		}
		for k, v := range m {
			if s, ok := v.(string); ok && k != "issuer_url" { // the dev issuer's URL is public
				keys[k] = s
			}
		}
	}
	if len(keys) == 0 {
		t.Errorf("no generated keys found in %s", data)
	}
	return keys
}

// checkRow checks a session row shows provider dev and a token expiry in
// Appwrite's date format that is later than the login (dev tokens live 2
// minutes).
func checkRow(t *testing.T, r sessionRowView, loginStart time.Time) {
	t.Helper()
	if r.Provider != "dev" {
		t.Errorf("session %s provider = %q, want dev", r.ID, r.Provider)
	}
	exp, err := time.Parse("2006-01-02T15:04:05.000-07:00", r.Expiry)
	if err != nil {
		t.Errorf("session %s token expiry %q is not an Appwrite date: %v", r.ID, r.Expiry, err)
		return
	}
	if !exp.After(loginStart) {
		t.Errorf("session %s token expiry %s is not after the login at %s", r.ID, r.Expiry, loginStart.UTC().Format(time.RFC3339))
	}
}

// apiUser is the part of the User model the test reads.
type apiUser struct {
	ID    string `json:"$id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

// accountAs calls GET /v1/account with the session cookie value.
func accountAs(t *testing.T, s *server, value string) apiUser {
	t.Helper()
	resp, body := s.get("/v1/account", http.Header{"Cookie": {sessionCookie + "=" + value}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/account with the session cookie = %d %s, want 200", resp.StatusCode, body)
	}
	var u apiUser
	if err := json.Unmarshal([]byte(body), &u); err != nil {
		t.Fatalf("GET /v1/account: %v: %s", err, body)
	}
	return u
}

// checkCurrentSessionAPI reads the session through the API with the
// X-Appwrite-Session header, as a server SDK would, and returns its
// provider access token.
func checkCurrentSessionAPI(t *testing.T, s *server, value, wantID string) string {
	t.Helper()
	resp, body := s.get("/v1/account/sessions/current", http.Header{"X-Appwrite-Session": {value}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/account/sessions/current = %d %s", resp.StatusCode, body)
	}
	var sess map[string]any
	if err := json.Unmarshal([]byte(body), &sess); err != nil {
		t.Fatal(err)
	}
	if sess["$id"] != wantID || sess["provider"] != "dev" || sess["current"] != true {
		t.Errorf("current session = $id %v provider %v current %v, want %s dev true", sess["$id"], sess["provider"], sess["current"], wantID)
	}
	if v, _ := sess["providerAccessTokenExpiry"].(string); v == "" {
		t.Errorf("providerAccessTokenExpiry is empty")
	}
	if v, ok := sess["providerRefreshToken"].(string); !ok || v != "" {
		t.Errorf("providerRefreshToken is shown to the session's owner")
	}
	access, _ := sess["providerAccessToken"].(string)
	if access == "" {
		t.Errorf("providerAccessToken is empty for the session's owner")
	}
	return access
}

// expectUnauthorized asserts the cookie value no longer authenticates.
func expectUnauthorized(t *testing.T, s *server, value, what string) {
	t.Helper()
	resp, body := s.get("/v1/account", http.Header{"Cookie": {sessionCookie + "=" + value}})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /v1/account with %s = %d, want 401", what, resp.StatusCode)
		return
	}
	var e struct {
		Type string `json:"type"`
		Code int    `json:"code"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Type != "general_unauthorized_scope" || e.Code != 401 {
		t.Errorf("GET /v1/account with %s: error body %s, want type general_unauthorized_scope and code 401", what, body)
	}
}

// writeScreenshot saves a full-page PNG of the account page in the test's
// temp dir and a copy at $TMPDIR/account.png for people to look at.
func writeScreenshot(t *testing.T, ctx context.Context) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Fatalf("screenshot is not a PNG (%d bytes)", len(png))
	}
	if err := os.WriteFile(filepath.Join(t.TempDir(), "account.png"), png, 0o600); err != nil {
		t.Fatal(err)
	}
	shared := filepath.Join(os.TempDir(), "account.png")
	if err := os.WriteFile(shared, png, 0o644); err != nil {
		t.Logf("could not copy the screenshot to %s: %v", shared, err)
		return
	}
	t.Logf("account page screenshot: %s", shared)
}
