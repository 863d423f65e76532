package sdk

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/internal/devissuer"
	"github.com/sessionbridge/sessionbridge/internal/testenv"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testissuer"
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

// sdkDir is the directory of this package (go test runs in it).
func sdkDir(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

// requireNode returns the node binary, or skips/fails.
func requireNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.SkipOrFail(t, "node is not installed: the node-appwrite check needs Node.js >= 18")
	}
	return node
}

// requirePackage checks that npm installed name at the pinned version.
func requirePackage(t *testing.T, name, version string) string {
	t.Helper()
	dir := filepath.Join(sdkDir(t), "node_modules", name)
	b, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		testenv.SkipOrFail(t, "%s is not installed: run `npm ci` in test/sdk", name)
	}
	var pkg struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(b, &pkg); err != nil || pkg.Version != version {
		t.Fatalf("node_modules/%s is version %q, want %s: run `npm ci` in test/sdk", name, pkg.Version, version)
	}
	return dir
}

// bridgeBin is cmd/sessionbridge, built on first use.
var bridgeBin = &testenv.Binary{Pkg: "./cmd/sessionbridge"}

func TestMain(m *testing.M) {
	code := m.Run()
	bridgeBin.Remove()
	os.Exit(code)
}

// bridgeOptions vary the bridge and issuer of a test.
type bridgeOptions struct {
	// accessTokenTTL is the issuer's access-token lifetime; zero is an
	// hour, so the background refresher stays idle and every refresh the
	// issuer sees was asked for by a client.
	accessTokenTTL time.Duration
	// beforeExpiry is refresh.before_expiry (zero: 5m).
	beforeExpiry time.Duration
}

// startIssuer runs the fake OpenID provider in this process.
func startIssuer(t *testing.T, secret string, ttl time.Duration) *testissuer.Issuer {
	t.Helper()
	if ttl == 0 {
		ttl = time.Hour
	}
	return testissuer.Start(t, devissuer.Options{
		ClientID:            clientID,
		ClientSecret:        secret,
		AutoApprove:         &devissuer.User{Subject: "sdk-user-1", Email: "ada@example.test", Name: "Ada Lovelace", EmailVerified: true},
		RotateRefreshTokens: true,
		AccessTokenTTL:      ttl,
	})
}

// bridgeProc is a running sessionbridge.
type bridgeProc struct {
	URL          string // http://127.0.0.1:PORT, the public URL
	APIKey       string
	ClientSecret string // the bridge's client secret at the provider
	Issuer       *testissuer.Issuer
	proc         *testenv.Process
}

// Endpoint is the SDK endpoint (the /v1 base).
func (b *bridgeProc) Endpoint() string { return b.URL + "/v1" }

// Logs is what the server wrote so far.
func (b *bridgeProc) Logs() string { return b.proc.Output.String() }

// startBridge writes a configuration with one OIDC provider (the fake
// issuer), allows allowOrigins as redirect targets and CORS origins, runs
// `sessionbridge serve --config` and waits for /healthz.
func startBridge(t *testing.T, bin string, o bridgeOptions, allowOrigins ...string) *bridgeProc {
	t.Helper()
	if o.beforeExpiry == 0 {
		o.beforeExpiry = 5 * time.Minute
	}
	clientSecret := testenv.RandomHex(16)
	iss := startIssuer(t, clientSecret, o.accessTokenTTL)
	dir := t.TempDir()
	addr := testenv.FreeAddr(t)
	b := &bridgeProc{
		URL:          "http://" + addr,
		APIKey:       "sdk-test-key-" + testenv.RandomHex(16),
		ClientSecret: clientSecret,
		Issuer:       iss,
	}
	var allow strings.Builder
	for _, o := range allowOrigins {
		fmt.Fprintf(&allow, "  - %q\n", o)
	}
	cfg := fmt.Sprintf(`listen: %s
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
  before_expiry: %s
log:
  level: info
providers:
  %s:
    type: oidc
    display_name: Corp SSO
    issuer: %s
    client_id: %s
    client_secret: %q
`, addr, b.URL, project, allow.String(), filepath.Join(dir, "sessionbridge.db"),
		testenv.RandomBase64(32), testenv.RandomBase64(32), b.APIKey, o.beforeExpiry, providerKey, iss.URL(), clientID, clientSecret)
	cfgPath := filepath.Join(dir, "sessionbridge.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(bin, "serve", "--config", cfgPath)
	cmd.Dir = dir
	b.proc = testenv.StartHealthy(t, "sessionbridge", cmd, b.URL, 20*time.Second)
	return b
}

// errNoResult marks a browser run that never published its result.
var errNoResult = errors.New("the page published no result")
