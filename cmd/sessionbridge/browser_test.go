package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sessionbridge/sessionbridge/internal/testenv"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testbrowser"
)

// browserBound limits the whole browser scenario so a page that never
// shows an element fails the test instead of hanging it. The scenario takes
// some 30 screenshots; on a loaded machine (or under -race) that alone can
// take a minute, so the bound is generous: it only guards against a hang.
const browserBound = 5 * time.Minute

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
