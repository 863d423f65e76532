package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sessionbridge/sessionbridge/internal/testenv/testbrowser"
)

// TestAccountPageSignOutReachesTheProvider signs in with a real Chromium,
// presses Sign out on the account page, and follows the browser through
// the provider's end_session_endpoint back to the login page with the
// signed-out message. The page posts a form to the provider (the ID token
// stays out of URLs), which its CSP allows for that origin only.
func TestAccountPageSignOutReachesTheProvider(t *testing.T) {
	exec := testbrowser.Chromium(t)
	h := newHarness(t, harnessOptions{noRefresh: true, mutateConf: enableRPLogout})
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), testbrowser.Options(exec)...)
	defer cancelAlloc()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(bctx); err != nil { // starts the browser on the untimed context
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancelT := context.WithTimeout(bctx, 60*time.Second)
	defer cancelT()

	if err := chromedp.Do(ctx,
		chromedp.Navigate(h.srv.URL+"/"),
		chromedp.Click(chromedp.ID("login-corp")),
		chromedp.WaitVisible(chromedp.ID("signout")),
	); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	if n := h.countSessions(t); n != 1 {
		t.Fatalf("%d sessions after signing in, want 1", n)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("signout"))); err != nil {
		t.Fatalf("click sign out: %v", err)
	}
	var loc string
	waitFor(t, 30*time.Second, "the login page with the signed-out message", func() bool {
		loc, _ = chromedp.Run(ctx, chromedp.Location())
		return strings.HasPrefix(loc, h.srv.URL+"/?") && strings.Contains(loc, "msg=signed_out")
	})
	if ends := h.iss.EndSessions(); len(ends) != 1 || ends[0].IDTokenHintSub == "" || ends[0].Method != "POST" {
		t.Fatalf("the provider's end-session requests: %+v", ends)
	}
	if n := h.countSessions(t); n != 0 {
		t.Fatalf("%d sessions after signing out, want 0", n)
	}
}
