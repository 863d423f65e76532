package cluster

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/internal/devissuer"
	"github.com/sessionbridge/sessionbridge/internal/testenv"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testissuer"
)

const (
	project     = "default"
	providerKey = "corp"
	clientID    = "bridge"
	appOrigin   = "http://app.example" // allow-listed, never dialled
)

// bridgeBin is cmd/sessionbridge, built on first use;
// $SESSIONBRIDGE_CLUSTER_BIN names a prebuilt binary to use instead.
var bridgeBin = &testenv.Binary{Pkg: "./cmd/sessionbridge"}

func TestMain(m *testing.M) {
	code := m.Run()
	bridgeBin.Remove()
	os.Exit(code)
}

// bridgeBinary returns the sessionbridge binary the processes run.
func bridgeBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("SESSIONBRIDGE_CLUSTER_BIN"); p != "" {
		return p
	}
	return bridgeBin.Path(t)
}

// startIssuer runs the fake OpenID provider in this process, in form mode
// (each login names its own user), rotating refresh tokens and revoking a
// token family when a superseded refresh token is presented.
func startIssuer(t testing.TB, secret string, accessTTL time.Duration) *testissuer.Issuer {
	t.Helper()
	return testissuer.Start(t, devissuer.Options{
		ClientID:            clientID,
		ClientSecret:        secret,
		RotateRefreshTokens: true,
		DetectReuse:         true,
		AccessTokenTTL:      accessTTL,
	})
}

// settings is what differs between the processes of one cluster; the
// secrets, the API key and the provider are shared (every instance must
// hold the same keys).
type settings struct {
	Driver, DSN    string
	PublicURL      string
	BeforeExpiry   time.Duration
	Timeout        time.Duration
	Concurrency    int
	SessionKey     string
	TokenKey       string
	APIKey         string
	IssuerURL      string
	ClientSecret   string
	LogLevel       string
	MaxConns       int
	RefreshEnabled bool
}

func newSettings(iss *testissuer.Issuer, secret, publicURL, driver, dsn string) settings {
	return settings{
		Driver: driver, DSN: dsn, PublicURL: publicURL,
		BeforeExpiry: 3 * time.Second, Timeout: 3 * time.Second, Concurrency: 64,
		SessionKey: testenv.RandomBase64(32), TokenKey: testenv.RandomBase64(32),
		APIKey:    "cluster-test-key-" + testenv.RandomHex(16),
		IssuerURL: iss.URL(), ClientSecret: secret, LogLevel: "info",
		RefreshEnabled: true,
	}
}

// writeConfig writes one process's configuration: listen is the API
// address (serve), opsListen the refresh daemon's /healthz,/readyz,/metrics.
func writeConfig(t testing.TB, dir string, s settings, listen, opsListen string) string {
	t.Helper()
	cfg := fmt.Sprintf(`listen: %s
public_url: %s
project: %s
redirect_allowlist: [%q]
trusted_proxies: [127.0.0.1/32]
session:
  duration: 8760h
  max_per_user: 1000
store:
  driver: %s
  dsn: %q
  max_conns: %d
secrets:
  session_keys: [%q]
  token_keys: [%q]
api_keys:
  - id: cluster-test
    secret: %q
    scopes: [sessions.read, sessions.write, users.read, users.write]
refresh:
  enabled: %t
  before_expiry: %s
  listen: %s
  timeout: %s
  concurrency: %d
log:
  level: %s
providers:
  %s:
    type: oidc
    display_name: Corp SSO
    issuer: %s
    client_id: %s
    client_secret: %q
`, listen, s.PublicURL, project, appOrigin, s.Driver, s.DSN, s.MaxConns, s.SessionKey, s.TokenKey, s.APIKey,
		s.RefreshEnabled, s.BeforeExpiry, opsListen, s.Timeout, s.Concurrency, s.LogLevel,
		providerKey, s.IssuerURL, clientID, s.ClientSecret)
	f, err := os.CreateTemp(dir, "sessionbridge-*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(cfg); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

// proc is a running sessionbridge process.
type proc struct {
	Name string
	Addr string // host:port of the HTTP server the process answers on
	*testenv.Process
}

// URL is the base URL of the process's own listener.
func (p *proc) URL() string { return "http://" + p.Addr }

// Logs is what the process wrote so far.
func (p *proc) Logs() string { return p.Output.String() }

// startProc runs `sessionbridge <command> --config cfg`, waits until addr
// answers /healthz, and arranges for a SIGTERM (then SIGKILL) at cleanup
// and for the log to be printed when the test failed.
func startProc(t testing.TB, name, command, cfgPath, addr string) *proc {
	t.Helper()
	cmd := exec.Command(bridgeBinary(t), command, "--config", cfgPath)
	cmd.Dir = filepath.Dir(cfgPath)
	p := &proc{Name: name, Addr: addr}
	p.Process = testenv.StartHealthy(t, name, cmd, p.URL(), 30*time.Second)
	return p
}

// Stop sends SIGTERM and waits up to grace for a clean exit (status 0).
func (p *proc) Stop(grace time.Duration) error {
	return p.Process.Stop(syscall.SIGTERM, grace)
}

// startServe starts `sessionbridge serve` on addr ("": a fresh port).
func startServe(t testing.TB, name string, s settings, addr string) *proc {
	t.Helper()
	if addr == "" {
		addr = testenv.FreeAddr(t)
	}
	ops := testenv.FreeAddr(t) // unused by serve
	return startProc(t, name, "serve", writeConfig(t, t.TempDir(), s, addr, ops), addr)
}

// startRefresher starts `sessionbridge refresh` on a fresh ops port.
func startRefresher(t testing.TB, name string, s settings) *proc {
	t.Helper()
	addr := testenv.FreeAddr(t) // unused by refresh
	ops := testenv.FreeAddr(t)
	return startProc(t, name, "refresh", writeConfig(t, t.TempDir(), s, addr, ops), ops)
}

// waitFor polls cond every interval until it returns true or the deadline
// passes; the test fails with what, and cond's last message, at the deadline.
func waitFor(t testing.TB, deadline time.Duration, interval time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		ok, msg := cond()
		if ok {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("timed out after %s waiting for %s: %s", deadline, what, msg)
		}
		time.Sleep(interval)
	}
}
