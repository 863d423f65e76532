package main

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// sessionRowView is one session on the account page.
type sessionRowView struct {
	ID         string `json:"id"`
	Current    bool   `json:"current"`
	Provider   string `json:"provider"`
	Device     string `json:"device"`
	Badge      string `json:"badge"`
	Expiry     string `json:"expiry"`
	ExpiryText string `json:"expiryText"`
	ExpiryHint string `json:"expiryHint"`
	RevokeName string `json:"revokeName"`
}

const readSessionRows = `Array.from(document.querySelectorAll('#sessions li[data-id]')).map(r => {
  const exp = r.querySelector('.token-fresh time') || {textContent: '', title: '', getAttribute: () => ''};
  const badge = r.querySelector('.badge');
  const revoke = r.querySelector('button.revoke');
  return {
    id: r.dataset.id,
    current: r.classList.contains('current') && r.getAttribute('aria-current') === 'true',
    provider: (r.querySelector('.provider') || {textContent: ''}).textContent.trim(),
    device: (r.querySelector('.session-device') || {textContent: ''}).textContent.trim(),
    badge: badge ? badge.textContent.trim() : '',
    expiry: exp.getAttribute('datetime') || '',
    expiryText: exp.textContent.trim(),
    expiryHint: exp.title || '',
    revokeName: revoke ? (revoke.getAttribute('aria-label') || revoke.textContent.trim()) : '',
  };
})`

// relativeSoon is how the page words a dev token's expiry (2 minutes).
var relativeSoon = regexp.MustCompile(`^in (less than a minute|(\d+ h )?\d+ min|\d+ h)$`)

// TestBrowserLoginAccountRevokeSignOut walks the pages as a user would, in
// Chromium: sign in with the mouse and with the keyboard alone, read the
// account page, revoke a session after its confirmation, and sign out
// with the keyboard; every page is photographed on a desktop and a phone
// screen in light and dark mode.
func TestBrowserLoginAccountRevokeSignOut(t *testing.T) {
	t.Parallel()
	ctx, _ := newBrowser(t)
	dir := t.TempDir()
	shots := screenshotDir(t)
	s := startServe(t, dir, nil)
	base := s.url

	// No page may use alert(), confirm() or prompt().
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
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return strings.Join(strings.Fields(v), " ")
	}
	rows := func() []sessionRowView {
		t.Helper()
		r, err := chromedp.Run(ctx, chromedp.Evaluate[[]sessionRowView](readSessionRows))
		if err != nil {
			t.Fatalf("read the session list: %v", err)
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
	atAccount := func() {
		t.Helper()
		if loc, err := chromedp.Run(ctx, chromedp.Location()); err != nil || loc != base+"/account" {
			t.Errorf("after signing in the browser is at %s (%v), want %s/account", loc, err, base)
		}
	}

	const name, email = "Ada Lovelace", "ada@example.com"
	before := time.Now().Add(-time.Second)

	// The login page: one button per provider, with its display name.
	do("open the login page", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("login-dev")))
	if label := text("#login-dev"); label != "Sign in with Dev (fake OpenID provider)" {
		t.Errorf("sign-in control reads %q, want it to name the Dev provider by its display name", label)
	}
	if h := text("h1"); h != "Sign in to sessionbridge" {
		t.Errorf("login heading = %q", h)
	}
	shootPage(t, ctx, shots, "login")

	// Cancelling at the provider comes back to the login page with the
	// provider's own words, as text.
	do("cancel at the provider", chromedp.Click(chromedp.ID("login-dev")), chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.Click(chromedp.CSS(`button[name="action"][value="deny"]`)), chromedp.WaitVisible(chromedp.ID("notice")))
	if got := text("#notice-text"); !strings.HasPrefix(got, "Sign-in failed.") {
		t.Errorf("after cancelling, the login page says %q, want it to say the sign-in failed", got)
	}
	if got := text("#notice-detail"); got != "the user cancelled the login" {
		t.Errorf("the provider's description reads %q, want %q", got, "the user cancelled the login")
	}
	shootPage(t, ctx, shots, "login-failed")

	// First login, with the mouse.
	do("sign in with the mouse", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("login-dev")),
		chromedp.Click(chromedp.ID("login-dev")), chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SetValue(chromedp.ID("email"), email), chromedp.SetValue(chromedp.ID("name"), name),
		chromedp.Click(chromedp.CSS(`button[name="action"][value="approve"]`)), chromedp.WaitVisible(chromedp.ID("sessions")))
	atAccount()
	firstCookie := cookie()
	if firstCookie == "" {
		t.Fatalf("no %s cookie after signing in", sessionCookie)
	}
	if got := text("#user-email"); got != email {
		t.Errorf("account page shows email %q, want %q", got, email)
	}
	if got := text("#user-name"); got != name {
		t.Errorf("account page shows name %q, want %q", got, name)
	}
	if got := text(".avatar"); got != "AL" {
		t.Errorf("avatar initials = %q, want AL", got)
	}
	first := rows()
	if len(first) != 1 {
		t.Fatalf("account page lists %d sessions after one login, want 1: %+v", len(first), first)
	}
	checkRow(t, first[0], before)
	if !first[0].Current || first[0].Badge != "This device" {
		t.Errorf("the only session is not labelled as this device: %+v", first[0])
	}
	if u := accountAs(t, s, firstCookie); u.Email != email || u.Name != name {
		t.Errorf("GET /v1/account = %+v, want %s <%s>", u, name, email)
	}
	accessToken := checkCurrentSessionAPI(t, s, firstCookie, first[0].ID)

	// Second login in the same browser with the keyboard alone: Tab to the
	// provider, Enter, type into the provider's form, Enter.
	do("open the login page", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("login-dev")))
	tabTo(t, ctx, "login-dev", 10)
	if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](focusVisibleJS)); err != nil || !ok {
		t.Errorf("the focused sign-in button shows no focus outline (%v)", err)
	}
	do("press Enter on the provider", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("email")))
	do("focus the email field", chromedp.Focus(chromedp.ID("email"))) // the provider's form autofocuses it; be explicit
	clearField(t, ctx)
	typeKeys(t, ctx, email)
	typeKeys(t, ctx, kb.Tab)
	clearField(t, ctx)
	typeKeys(t, ctx, name)
	do("submit the provider's form with Enter", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("sessions")))
	atAccount()
	secondCookie := cookie()
	if secondCookie == "" || secondCookie == firstCookie {
		t.Fatalf("the keyboard login did not set a new session cookie")
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
	if current.ID == "" || other.ID != first[0].ID || current.Badge != "This device" || other.Badge != "" {
		t.Fatalf("want the new session labelled this device and the first one listed without the label: %+v", both)
	}
	if want := "Revoke session on " + other.Device; other.RevokeName != want || !strings.Contains(other.Device, "Linux") {
		t.Errorf("the revoke button's accessible name is %q, want %q naming the browser and OS", other.RevokeName, want)
	}
	if got := text(fmt.Sprintf("#session-%s dd.refreshed", current.ID)); got != "not yet" {
		t.Errorf("a session never refreshed reads %q under Last refreshed", got)
	}
	// Refresh the current session's token now (PATCH): the open page shows
	// it without a reload.
	req, _ := http.NewRequest(http.MethodPatch, base+"/v1/account/sessions/current", nil)
	req.Header.Set("X-Appwrite-Session", secondCookie)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("PATCH the current session: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	do("wait for the page to show the refresh", chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf("#session-%s dd.refreshed time", current.ID))))
	if got := text(fmt.Sprintf("#session-%s dd.refreshed", current.ID)); got != "less than a minute ago" {
		t.Errorf("Last refreshed reads %q right after a refresh", got)
	}
	shootPage(t, ctx, shots, "account")

	// Revoke the first session: a confirmation first, and nothing ends yet.
	do("ask to revoke the other session", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#session-%s button.revoke`, other.ID))),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#session-%s .confirm-revoke`, other.ID))))
	if focused, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.activeElement.classList.contains('confirm-revoke')`)); err != nil || !focused {
		t.Errorf("the confirmation's button does not have the focus (%v)", err)
	}
	do("cancel, then ask again",
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#session-%s .confirm-cancel`, other.ID))),
		chromedp.WaitNotVisible(chromedp.CSS(fmt.Sprintf(`#session-%s .confirm-revoke`, other.ID))),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#session-%s button.revoke`, other.ID))),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#session-%s .confirm-revoke`, other.ID))))
	if q := text(fmt.Sprintf("#session-%s .confirm-question", other.ID)); !strings.Contains(q, "Revoke the session on "+other.Device+"?") {
		t.Errorf("the confirmation reads %q", q)
	}
	if u := accountAs(t, s, firstCookie); u.Email != email {
		t.Errorf("the session ended before the revoke was confirmed")
	}
	shootPage(t, ctx, shots, "account-confirm")
	do("confirm the revoke", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#session-%s .confirm-revoke`, other.ID))),
		chromedp.WaitNotPresent(chromedp.CSS(fmt.Sprintf(`#session-%s`, other.ID))), chromedp.WaitVisible(chromedp.ID("notice")))
	if got := text("#notice-text"); got != "The session was revoked." {
		t.Errorf("after revoking, the page says %q", got)
	}
	if left := rows(); len(left) != 1 || left[0].ID != current.ID {
		t.Errorf("after revoking, the page lists %+v, want only %s", left, current.ID)
	}
	expectUnauthorized(t, s, firstCookie, "the revoked session")
	if u := accountAs(t, s, secondCookie); u.Email != email {
		t.Errorf("revoking the other session ended the current one too: %+v", u)
	}

	// In German, after the script ran, too.
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
		Headers: network.Headers{"Accept-Language": "de-DE,de;q=0.9"}}); err != nil {
		t.Fatal(err)
	}
	do("open the account page in German", chromedp.Navigate(base+"/account"), chromedp.WaitVisible(chromedp.ID("this-device")))
	if got := text("#this-device"); got != "Dieses Gerät" {
		t.Errorf("German badge = %q", got)
	}
	if got := text(".token-fresh"); !regexp.MustCompile(`^Gültig, läuft ab in (weniger als einer Minute|\d+ Min\.)$`).MatchString(got) {
		t.Errorf("German token state = %q", got)
	}
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{}}); err != nil {
		t.Fatal(err)
	}

	// Sign out with the keyboard alone: the session ends on the server and
	// the login page says so.
	do("reload the account page", chromedp.Navigate(base+"/account"), chromedp.WaitVisible(chromedp.ID("signout")))
	tabTo(t, ctx, "signout", 10)
	do("press Enter on Sign out", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("notice")))
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err != nil || loc != base+"/?msg=signed_out" {
		t.Errorf("signing out ended at %q (%v), want %s/?msg=signed_out", loc, err, base)
	}
	if got := text("#notice-text"); got != "You have been signed out." {
		t.Errorf("the signed-out page says %q", got)
	}
	expectUnauthorized(t, s, secondCookie, "the signed-out session")
	if c := cookie(); c != "" {
		t.Errorf("the session cookie is still set in the browser after signing out")
	}
	shootPage(t, ctx, shots, "signed-out")

	do("open /account after signing out", chromedp.Navigate(base+"/account"), chromedp.WaitVisible(chromedp.ID("login-dev")))
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err != nil || loc != base+"/" {
		t.Errorf("/account after signing out ended at %q (%v), want the login page %s/", loc, err, base)
	}

	// A browser that opens an unknown address gets a page, with 404.
	resp, err := chromedp.RunResponse(ctx, chromedp.Navigate(base+"/no/such/page"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 404 || !strings.HasPrefix(resp.MimeType, "text/html") {
		t.Errorf("unknown path in the browser: %d %s, want 404 text/html", resp.Status, resp.MimeType)
	}
	if h := text("h1"); h != "Page not found" {
		t.Errorf("the not-found page's heading is %q", h)
	}
	shootPage(t, ctx, shots, "error")

	// A session ended elsewhere: the open account page notices on its own
	// and the login page says why.
	do("sign in again", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("login-dev")),
		chromedp.Click(chromedp.ID("login-dev")), chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SetValue(chromedp.ID("email"), email), chromedp.SetValue(chromedp.ID("name"), name),
		chromedp.Click(chromedp.CSS(`button[name="action"][value="approve"]`)), chromedp.WaitVisible(chromedp.ID("sessions")))
	third := cookie()
	req, _ = http.NewRequest(http.MethodDelete, base+"/v1/account/sessions/current", nil)
	req.Header.Set("X-Appwrite-Session", third)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("end the session through the API: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	do("wait for the account page to notice", chromedp.WaitVisible(chromedp.ID("notice")))
	if got := text("#notice-text"); got != "Your session was revoked or has ended. Please sign in again." {
		t.Errorf("after the session ended elsewhere the page says %q", got)
	}

	s.stop()

	// No cookie value, token or key may reach the log.
	secrets := map[string]string{"first session cookie": firstCookie, "second session cookie": secondCookie,
		"provider access token": accessToken, "third session cookie": third}
	for k, v := range devKeys(t, dir) {
		secrets["generated "+k] = v
	}
	logText := s.log.String()
	for what, v := range secrets {
		if len(v) >= 8 && strings.Contains(logText, v) {
			t.Errorf("the server log contains the %s", what)
		}
	}
}

// checkRow checks a session shows the provider's display name and a token
// expiry later than the login (dev tokens live 2 minutes), worded
// relatively with the exact time on hover.
func checkRow(t *testing.T, r sessionRowView, loginStart time.Time) {
	t.Helper()
	if r.Provider != "Dev (fake OpenID provider)" {
		t.Errorf("session %s provider = %q, want the display name", r.ID, r.Provider)
	}
	exp, err := time.Parse("2006-01-02T15:04:05.000-07:00", r.Expiry)
	if err != nil {
		t.Errorf("session %s token expiry %q is not an Appwrite date: %v", r.ID, r.Expiry, err)
		return
	}
	if !exp.After(loginStart) {
		t.Errorf("session %s token expiry %s is not after the login at %s", r.ID, r.Expiry, loginStart.UTC().Format(time.RFC3339))
	}
	if !relativeSoon.MatchString(r.ExpiryText) {
		t.Errorf("session %s token expiry reads %q, want a relative time such as \"in 1 min\"", r.ID, r.ExpiryText)
	}
	if !strings.Contains(r.ExpiryHint, fmt.Sprint(exp.Year())) {
		t.Errorf("session %s token expiry hover text %q is not the exact time", r.ID, r.ExpiryHint)
	}
}
