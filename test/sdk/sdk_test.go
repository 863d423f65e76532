package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sessionbridge/sessionbridge/internal/testenv/testbrowser"
)

// nodeResult is what node-flow.mjs prints.
type nodeResult struct {
	OK    bool     `json:"ok"`
	Step  string   `json:"step"`
	Error string   `json:"error"`
	Steps []string `json:"steps"`
	Hops  []string `json:"hops"`
}

// runNode runs a node-appwrite script against b and returns its result;
// it fails the test when the script reports a failed step.
func runNode(t *testing.T, b *bridgeProc, script, app string, env ...string) nodeResult {
	t.Helper()
	node := requireNode(t)
	requirePackage(t, "node-appwrite", nodeSDKVersion)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Dir = sdkDir(t)
	cmd.Env = append(os.Environ(),
		"SB_ENDPOINT="+b.Endpoint(),
		"SB_PROJECT="+project,
		"SB_API_KEY="+b.APIKey,
		"SB_PROVIDER="+providerKey,
		"SB_SUCCESS="+app+"/auth/done",
		"SB_FAILURE="+app+"/auth/failed",
	)
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()

	var res nodeResult
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("%s printed no result (%v): %v\nstdout:\n%s\nstderr:\n%s", script, runErr, err, stdout.String(), stderr.String())
	}
	if !res.OK || runErr != nil {
		t.Fatalf("node-appwrite %s, %s: step %q failed: %s\npassed: %v\nredirects: %v\nstderr:\n%s",
			nodeSDKVersion, script, res.Step, res.Error, res.Steps, res.Hops, stderr.String())
	}
	t.Logf("node-appwrite %s passed: %s", nodeSDKVersion, strings.Join(res.Steps, ", "))
	return res
}

// checkLogsClean fails when the server log holds the API key or the
// client secret.
func checkLogsClean(t *testing.T, b *bridgeProc) {
	t.Helper()
	for name, secret := range map[string]string{"API key": b.APIKey, "client secret": b.ClientSecret} {
		if strings.Contains(b.Logs(), secret) {
			t.Errorf("the server log contains the %s", name)
		}
	}
}

// TestNodeSDK runs node-appwrite's token login, session API and users API
// against the bridge (node-flow.mjs does the calls and checks each answer).
func TestNodeSDK(t *testing.T) {
	bin := bridgeBin.Path(t)
	const app = "https://app.example.test"
	b := startBridge(t, bin, bridgeOptions{}, app)
	res := runNode(t, b, "node-flow.mjs", app)
	t.Logf("redirects: %s", strings.Join(res.Hops, " -> "))

	// The provider saw exactly one login, one code exchange and one
	// refresh (the updateSession call), and no refresh token twice.
	st := b.Issuer.Stats()
	if st.Logins != 1 || st.TokenRequests != 1 || st.RefreshRequests != 1 || st.Replays != 0 {
		t.Errorf("provider stats: %+v; want 1 login, 1 token request, 1 refresh request, 0 replays", st)
	}
	if n := b.Issuer.MaxUsesOfAnyRefreshToken(); n > 1 {
		t.Errorf("a refresh token was presented %d times", n)
	}
	checkLogsClean(t, b)
}

// TestNodeSDKBackend runs what an app backend does with node-appwrite
// (node-backend.mjs): a JWT from account.createJWT authenticates a second
// client (setJWT); users.listIdentities hands out an access token the
// provider accepts right now, after background refreshes (access tokens
// live 4 s here); users.updateStatus(false) makes the user's cookie
// answer 401; users.list, prefs, name, deleteIdentity and delete.
func TestNodeSDKBackend(t *testing.T) {
	bin := bridgeBin.Path(t)
	const app = "https://app.example.test"
	b := startBridge(t, bin, bridgeOptions{accessTokenTTL: 4 * time.Second, beforeExpiry: 2 * time.Second}, app)
	runNode(t, b, "node-backend.mjs", app, "SB_USERINFO="+b.Issuer.URL()+"/userinfo")
	st := b.Issuer.Stats()
	if st.RefreshRequests < 1 || st.Replays != 0 || b.Issuer.MaxUsesOfAnyRefreshToken() > 1 {
		t.Errorf("provider stats: %+v; want background refreshes and no refresh token sent twice", st)
	}
	checkLogsClean(t, b)
}

// webResult is what page.js publishes as window.__result.
type webResult struct {
	OK             bool            `json:"ok"`
	Flow           string          `json:"flow"`
	Origin         string          `json:"origin"`
	Stage          string          `json:"stage"`
	Error          json.RawMessage `json:"error"`
	FallbackStored bool            `json:"fallbackStored"`
	Created        *webSession     `json:"created"`
	Session        *webSession     `json:"session"`
	UserID         string          `json:"userId"`
	Listed         []string        `json:"listed"`
	AfterDelete    apiError        `json:"afterDelete"`
	// JWTUserID is account.get's $id with the JWT of account.createJWT.
	JWTUserID      string   `json:"jwtUserId"`
	JWTAfterDelete apiError `json:"jwtAfterDelete"`
}

type apiError struct {
	Code int    `json:"code"`
	Type string `json:"type"`
}

type webSession struct {
	ID                string   `json:"id"`
	UserID            string   `json:"userId"`
	Provider          string   `json:"provider"`
	Current           bool     `json:"current"`
	HasAccessToken    bool     `json:"hasAccessToken"`
	RefreshTokenShown bool     `json:"refreshTokenShown"`
	SecretShown       bool     `json:"secretShown"`
	ClientName        string   `json:"clientName"`
	OSName            string   `json:"osName"`
	Keys              []string `json:"keys"`
}

// sessionKeys are the keys of Appwrite's Session model (CONTRACT §5).
var sessionKeys = []string{
	"$createdAt", "$id", "$updatedAt", "clientCode", "clientEngine", "clientEngineVersion",
	"clientName", "clientType", "clientVersion", "countryCode", "countryName", "current",
	"deviceBrand", "deviceModel", "deviceName", "expire", "factors", "ip", "mfaUpdatedAt",
	"osCode", "osName", "osVersion", "provider", "providerAccessToken",
	"providerAccessTokenExpiry", "providerRefreshToken", "providerUid", "secret", "userId",
}

// TestWebSDK runs the web SDK (appwrite, the IIFE bundle) in headless
// Chromium on a page whose origin differs from the bridge's.
//
//   - same-site: page http://127.0.0.1:P2, bridge http://127.0.0.1:P1.
//     Another origin but the same site, like app.example.com and
//     auth.example.com: createOAuth2Session's cookie is sent on the
//     SDK's credentialed cross-origin fetches, which need CORS.
//   - cross-site: page http://localhost:P2. The bridge's SameSite=Lax
//     cookie is not sent on the page's fetches, so the page logs in the
//     way Appwrite's web SDK supports across sites: createOAuth2Token,
//     then createSession, whose X-Fallback-Cookies answer the SDK keeps
//     in localStorage and sends back on every call.
//
// createOAuth2Session from a cross-site page is deliberately not tested:
// the SDK fills its localStorage fallback only from fetch answers, never
// from a navigation, and Chromium sends neither a SameSite=Lax cookie nor
// (over http) a SameSite=None one on a cross-site fetch, so the session
// cannot reach the API; Appwrite itself behaves the same way and points
// such apps to createOAuth2Token (or to an API on the app's own site).
func TestWebSDK(t *testing.T) {
	chrome := testbrowser.Chromium(t)
	sdkDirPath := requirePackage(t, "appwrite", webSDKVersion)
	bundle := filepath.Join(sdkDirPath, "dist", "iife", "sdk.js")
	if _, err := os.Stat(bundle); err != nil {
		t.Fatalf("the web SDK's browser bundle is missing: %v", err)
	}
	bin := bridgeBin.Path(t)

	// The page server's listener comes first: the bridge must allow its
	// origins before it starts.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	sameSite := fmt.Sprintf("http://127.0.0.1:%d", port)
	crossSite := fmt.Sprintf("http://localhost:%d", port)
	b := startBridge(t, bin, bridgeOptions{}, sameSite, crossSite)

	srv := &http.Server{Handler: pageHandler(sdkDir(t), bundle, b.Endpoint()), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })

	browser := startBrowser(t, chrome)

	cases := []struct {
		name, origin, flow string
		wantFallback       bool
	}{
		{"session/same-site", sameSite, "session", false},
		{"token/cross-site", crossSite, "token", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, console := runPage(t, browser, tc.origin+"/?flow="+tc.flow)
			if !res.OK {
				t.Fatalf("web SDK %s, %s flow from %s: stage %q failed: %s\nbrowser console:\n%s",
					webSDKVersion, tc.flow, tc.origin, res.Stage, res.Error, console)
			}
			checkWebSession(t, res.Session, "getSession(current)")
			if tc.flow == "token" {
				checkWebSession(t, res.Created, "createSession")
				if res.Created.ID != res.Session.ID {
					t.Errorf("getSession(current) is %s, createSession made %s", res.Session.ID, res.Created.ID)
				}
				if res.Created.SecretShown {
					t.Errorf("createSession without an API key shows the secret")
				}
			}
			if res.FallbackStored != tc.wantFallback {
				t.Errorf("localStorage cookieFallback stored = %v, want %v", res.FallbackStored, tc.wantFallback)
			}
			if res.UserID == "" || res.UserID != res.Session.UserID {
				t.Errorf("account.get $id %q, session userId %q", res.UserID, res.Session.UserID)
			}
			if !slices.Equal(res.Listed, []string{res.Session.ID}) {
				t.Errorf("listSessions marks %v current, want [%s]", res.Listed, res.Session.ID)
			}
			if res.AfterDelete.Code != http.StatusUnauthorized || res.AfterDelete.Type != "general_unauthorized_scope" {
				t.Errorf("account.get after deleteSession: %+v, want 401 general_unauthorized_scope", res.AfterDelete)
			}
			if res.JWTUserID != res.UserID {
				t.Errorf("account.get with createJWT's JWT (setJWT) is user %q, want %q", res.JWTUserID, res.UserID)
			}
			if res.JWTAfterDelete.Code != http.StatusUnauthorized || res.JWTAfterDelete.Type != "general_unauthorized_scope" {
				t.Errorf("the JWT after its session was deleted: %+v, want 401 general_unauthorized_scope", res.JWTAfterDelete)
			}
			t.Logf("%s flow from %s: session %s for %s/%s, access token present",
				tc.flow, tc.origin, res.Session.ID, res.Session.ClientName, res.Session.OSName)
		})
	}
}

func checkWebSession(t *testing.T, s *webSession, what string) {
	t.Helper()
	if s == nil {
		t.Errorf("%s: no session", what)
		return
	}
	if !slices.Equal(s.Keys, sessionKeys) {
		t.Errorf("%s: keys %v, want %v", what, s.Keys, sessionKeys)
	}
	if s.Provider != providerKey {
		t.Errorf("%s: provider %q, want %q", what, s.Provider, providerKey)
	}
	if !s.Current {
		t.Errorf("%s: current is false", what)
	}
	if !s.HasAccessToken {
		t.Errorf("%s: providerAccessToken is empty", what)
	}
	if s.RefreshTokenShown {
		t.Errorf("%s: the session's owner sees providerRefreshToken", what)
	}
}

// pageHandler serves the test page, the SDK bundle as npm installed it
// and a config.js naming the bridge.
func pageHandler(dir, bundle, endpoint string) http.Handler {
	cfg, _ := json.Marshal(map[string]string{"endpoint": endpoint, "project": project, "provider": providerKey})
	mux := http.NewServeMux()
	serve := func(path, file, ctype string) {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ctype)
			w.Header().Set("Cache-Control", "no-store")
			http.ServeFile(w, r, file)
		})
	}
	serve("/{$}", filepath.Join(dir, "page", "index.html"), "text/html; charset=utf-8")
	serve("/page.js", filepath.Join(dir, "page", "page.js"), "text/javascript; charset=utf-8")
	serve("/sdk.js", bundle, "text/javascript; charset=utf-8")
	mux.HandleFunc("GET /config.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintf(w, "window.SB_CONFIG = %s;\n", cfg)
	})
	return mux
}

// startBrowser starts headless Chromium with a fresh profile and returns
// a context whose children get their own browser contexts (cookie jars).
func startBrowser(t *testing.T, chrome string) context.Context {
	t.Helper()
	opts := append(testbrowser.Options(chrome), chromedp.UserDataDir(t.TempDir()))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("%s did not start: %v", chrome, err)
	}
	return ctx
}

// runPage opens url in a new browser context, starts the login and waits
// for the page to publish its result. It returns the result and the
// browser console, for failure messages.
func runPage(t *testing.T, browser context.Context, url string) (webResult, string) {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	defer cancel()

	var mu sync.Mutex
	var console strings.Builder
	consoleCtx, stopConsole := context.WithCancel(ctx)
	defer stopConsole()
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("new tab: %v", err)
	}
	go func() {
		for m, err := range chromedp.Console(consoleCtx) {
			if err != nil {
				return
			}
			mu.Lock()
			fmt.Fprintf(&console, "  %s %s\n", m.Type, m.Text)
			mu.Unlock()
		}
	}()
	consoleText := func() string {
		mu.Lock()
		defer mu.Unlock()
		return console.String()
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	waitCtx, cancelWait := context.WithTimeout(ctx, 10*time.Second)
	_, err := chromedp.Run(waitCtx, chromedp.Poll[bool](`typeof window.startLogin === "function"`))
	cancelWait()
	if err != nil {
		t.Fatalf("the page did not get ready: %v\nbrowser console:\n%s", err, consoleText())
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.startLogin()`)); err != nil {
		t.Fatalf("startLogin: %v\nbrowser console:\n%s", err, consoleText())
	}

	// The page navigates several times (bridge, provider, back); read the
	// result once the final page has published it.
	deadline := time.Now().Add(25 * time.Second)
	for {
		evalCtx, cancelEval := context.WithTimeout(ctx, 2*time.Second)
		raw, err := chromedp.Run(evalCtx, chromedp.Evaluate[string](`window.__result ? JSON.stringify(window.__result) : ""`))
		cancelEval()
		if err == nil && raw != "" {
			var res webResult
			if err := json.Unmarshal([]byte(raw), &res); err != nil {
				t.Fatalf("page result %q: %v", raw, err)
			}
			return res, consoleText()
		}
		if time.Now().After(deadline) {
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			t.Fatalf("%v within 25s (page now at %s)\nbrowser console:\n%s", errNoResult, loc, consoleText())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
