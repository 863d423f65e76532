package app

import (
	"context"
	"html/template"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/sessionbridge/sessionbridge/internal/testenv/testbrowser"
)

// attackPage auto-submits a form POST of an attacker's token to the bridge.
var attackPage = template.Must(template.New("attack").Parse(`<!doctype html>
<form id="f" method="POST" action="{{.Action}}">
<input name="userId" value="{{.UserID}}"><input name="secret" value="{{.Secret}}">
</form>
<script>document.getElementById('f').submit()</script>`))

// TestBrowserCrossSiteLoginCSRF runs the login-CSRF attack in Chromium:
// a page on another site (localhost:Q against the bridge on
// 127.0.0.1:P, two different sites) auto-submits the attacker's userId
// and secret to POST /v1/account/sessions/token. The browser ends up on
// the bridge's 403 and holds no session cookie; nothing is stored.
func TestBrowserCrossSiteLoginCSRF(t *testing.T) {
	chromium := testbrowser.Chromium(t)
	h := newHarness(t, harnessOptions{noRefresh: true})
	userID, secret := h.tokenLogin(t)

	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = attackPage.Execute(w, map[string]string{"Action": h.srv.URL + "/v1/account/sessions/token", "UserID": userID, "Secret": secret})
	}))
	t.Cleanup(attacker.Close)
	_, port, _ := net.SplitHostPort(attacker.Listener.Addr().String())
	attackURL := "http://localhost:" + port + "/"
	if !strings.HasPrefix(h.srv.URL, "http://127.0.0.1:") {
		t.Fatalf("the bridge must be on 127.0.0.1 for the two-site setup, is %s", h.srv.URL)
	}

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), testbrowser.Options(chromium)...)
	defer cancelAlloc()
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	defer cancelTab()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	if err := chromedp.Do(ctx, chromedp.Navigate(attackURL)); err != nil {
		t.Fatalf("open the attacker's page: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`location.href.includes('/v1/account/sessions/token') && !!document.body && document.body.innerText.length > 0`)); err != nil {
		t.Fatalf("the form was not submitted: %v", err)
	}
	body, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{h.srv.URL + "/"}})
	if err != nil {
		t.Fatal(err)
	}
	cookies := res.Cookies
	if !strings.Contains(body, "general_access_forbidden") {
		t.Errorf("the cross-site form POST was answered with %.300q, want the 403 error", body)
	}
	for _, c := range cookies {
		if c.Name == "a_session_default" {
			t.Fatal("the cross-site form POST left a session cookie in the browser")
		}
	}
	if n := h.countSessions(t); n != 0 {
		t.Fatalf("the cross-site form POST created %d sessions", n)
	}
}
