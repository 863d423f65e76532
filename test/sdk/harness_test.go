package sdk

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/providers/devissuer"
)

// Pinned SDK versions; package.json must hold exactly these.
const (
	nodeSDKVersion = "27.1.0" // node-appwrite
	webSDKVersion  = "27.0.0" // appwrite
)

const (
	project     = "default"
	providerKey = "corp"
	clientID    = "bridge"
)

// skipOrFail skips the test when a tool it needs is missing, except in CI
// (CI=true), where a missing tool is a failure: a CI run must not pass by
// skipping the SDK checks.
func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: the SDK tests must run)", msg)
	}
	t.Skip(msg)
}

// sdkDir is the directory of this package (go test runs in it).
func sdkDir(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

// repoRoot finds the module root by walking up to go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir := sdkDir(t)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// requireNode returns the node binary, or skips/fails.
func requireNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		skipOrFail(t, "node is not installed: the node-appwrite check needs Node.js >= 18")
	}
	return node
}

// requirePackage checks that npm installed name at the pinned version.
func requirePackage(t *testing.T, name, version string) string {
	t.Helper()
	dir := filepath.Join(sdkDir(t), "node_modules", name)
	b, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		skipOrFail(t, "%s is not installed: run `npm ci` in test/sdk", name)
	}
	var pkg struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(b, &pkg); err != nil || pkg.Version != version {
		t.Fatalf("node_modules/%s is version %q, want %s: run `npm ci` in test/sdk", name, pkg.Version, version)
	}
	return dir
}

// requireChromium returns a Chromium/Chrome binary, or skips/fails.
// CHROME_PATH overrides the search.
func requireChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROME_PATH"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	skipOrFail(t, "no chromium, chromium-browser or google-chrome in PATH (or set CHROME_PATH): the web SDK check needs a browser")
	return ""
}

// buildBridge compiles cmd/sessionbridge into a temporary directory.
func buildBridge(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal("the go command is not in PATH")
	}
	out := filepath.Join(t.TempDir(), "sessionbridge")
	cmd := exec.Command(goBin, "build", "-o", out, "./cmd/sessionbridge")
	cmd.Dir = repoRoot(t)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/sessionbridge: %v\n%s", err, b)
	}
	return out
}

// startIssuer runs the fake OpenID provider in this process. Access tokens
// live an hour, so the background refresher stays idle during the test and
// every refresh the issuer sees was asked for by a client.
func startIssuer(t *testing.T, secret string) *devissuer.Issuer {
	t.Helper()
	iss, err := devissuer.New(devissuer.Options{
		ClientID:            clientID,
		ClientSecret:        secret,
		AutoApprove:         &devissuer.User{Subject: "sdk-user-1", Email: "ada@example.test", Name: "Ada Lovelace", EmailVerified: true},
		RotateRefreshTokens: true,
		AccessTokenTTL:      time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iss.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = iss.Close() })
	return iss
}

// bridgeProc is a running sessionbridge.
type bridgeProc struct {
	URL          string // http://127.0.0.1:PORT, the public URL
	APIKey       string
	ClientSecret string // the bridge's client secret at the provider
	Issuer       *devissuer.Issuer
	logs         *syncBuffer
}

// Endpoint is the SDK endpoint (the /v1 base).
func (b *bridgeProc) Endpoint() string { return b.URL + "/v1" }

// Logs is what the server wrote so far.
func (b *bridgeProc) Logs() string { return b.logs.String() }

// syncBuffer collects process output written from another goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func randomBase64(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// freePort reserves a loopback port for the bridge, whose public_url must
// name the port before it starts.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startBridge writes a configuration with one OIDC provider (the fake
// issuer), allows allowOrigins as redirect targets and CORS origins, runs
// `sessionbridge serve --config` and waits for /healthz.
func startBridge(t *testing.T, bin string, allowOrigins ...string) *bridgeProc {
	t.Helper()
	clientSecret := randomHex(t, 16)
	iss := startIssuer(t, clientSecret)
	dir := t.TempDir()
	port := freePort(t)
	b := &bridgeProc{
		URL:          fmt.Sprintf("http://127.0.0.1:%d", port),
		APIKey:       "sdk-test-key-" + randomHex(t, 16),
		ClientSecret: clientSecret,
		Issuer:       iss,
		logs:         &syncBuffer{},
	}
	var allow strings.Builder
	for _, o := range allowOrigins {
		fmt.Fprintf(&allow, "  - %q\n", o)
	}
	cfg := fmt.Sprintf(`listen: 127.0.0.1:%d
public_url: %s
project: %s
redirect_allowlist:
%ssession:
  duration: 8760h
store:
  driver: sqlite
  dsn: %q
secrets:
  session_keys: [%q]
  token_keys: [%q]
api_keys:
  - id: sdk-test
    secret: %q
    scopes: [sessions.read, sessions.write, users.read, users.write]
refresh:
  enabled: true
  before_expiry: 5m
log:
  level: info
providers:
  %s:
    type: oidc
    display_name: Corp SSO
    issuer: %s
    client_id: %s
    client_secret: %q
`, port, b.URL, project, allow.String(), filepath.Join(dir, "sessionbridge.db"),
		randomBase64(t, 32), randomBase64(t, 32), b.APIKey, providerKey, iss.URL(), clientID, clientSecret)
	cfgPath := filepath.Join(dir, "sessionbridge.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(bin, "serve", "--config", cfgPath)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = b.logs, b.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("sessionbridge did not stop within 10s of SIGINT")
		}
		if t.Failed() {
			t.Logf("sessionbridge log:\n%s", b.Logs())
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.URL+"/healthz", nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return b
			}
		}
		select {
		case err := <-exited:
			exited <- err // let the cleanup see it
			t.Fatalf("sessionbridge exited during start: %v\n%s", err, b.Logs())
		case <-ctx.Done():
			t.Fatalf("sessionbridge did not answer /healthz within 20s\n%s", b.Logs())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// errNoResult marks a browser run that never published its result.
var errNoResult = errors.New("the page published no result")
