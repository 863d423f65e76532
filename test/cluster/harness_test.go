package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/providers/devissuer"
)

const (
	project     = "default"
	providerKey = "corp"
	clientID    = "bridge"
	appOrigin   = "http://app.example" // allow-listed, never dialled
)

// The binary is built once per test run, on first use, into binDir.
var (
	binDir   string
	binOnce  sync.Once
	binPath  string
	binErr   error
	keyOnce  sync.Once
	keyShare *rsa.PrivateKey
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sessionbridge-cluster-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// bridgeBinary compiles cmd/sessionbridge (once) and returns its path;
// $SESSIONBRIDGE_CLUSTER_BIN names a prebuilt binary to use instead.
func bridgeBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		if p := os.Getenv("SESSIONBRIDGE_CLUSTER_BIN"); p != "" {
			binPath = p
			return
		}
		goBin, err := exec.LookPath("go")
		if err != nil {
			binErr = fmt.Errorf("the go command is not in PATH")
			return
		}
		root, err := repoRoot()
		if err != nil {
			binErr = err
			return
		}
		out := filepath.Join(binDir, "sessionbridge")
		cmd := exec.Command(goBin, "build", "-o", out, "./cmd/sessionbridge")
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build ./cmd/sessionbridge: %v\n%s", err, b)
			return
		}
		binPath = out
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// repoRoot finds the module root by walking up to go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// signingKey shares one RSA key across the test issuers (generation is slow).
func signingKey() *rsa.PrivateKey {
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		keyShare = k
	})
	return keyShare
}

// startIssuer runs the fake OpenID provider in this process, in form mode
// (each login names its own user), rotating refresh tokens and revoking a
// token family when a superseded refresh token is presented.
func startIssuer(t testing.TB, secret string, accessTTL time.Duration) *devissuer.Issuer {
	t.Helper()
	iss, err := devissuer.New(devissuer.Options{
		ClientID:            clientID,
		ClientSecret:        secret,
		RotateRefreshTokens: true,
		DetectReuse:         true,
		AccessTokenTTL:      accessTTL,
		SigningKey:          signingKey(),
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

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func randomBase64(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// freePort reserves a loopback port; the process that will listen on it is
// started right after, so the small window for a clash is acceptable.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

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

func newSettings(iss *devissuer.Issuer, secret, publicURL, driver, dsn string) settings {
	return settings{
		Driver: driver, DSN: dsn, PublicURL: publicURL,
		BeforeExpiry: 3 * time.Second, Timeout: 3 * time.Second, Concurrency: 64,
		SessionKey: randomBase64(32), TokenKey: randomBase64(32),
		APIKey:    "cluster-test-key-" + randomHex(16),
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
	Name   string
	Addr   string // host:port of the HTTP server the process answers on
	cmd    *exec.Cmd
	logs   *syncBuffer
	exited chan struct{}
	err    error // Wait's result, once exited is closed
}

// URL is the base URL of the process's own listener.
func (p *proc) URL() string { return "http://" + p.Addr }

// Logs is what the process wrote so far.
func (p *proc) Logs() string { return p.logs.String() }

// Exited reports whether the process has ended.
func (p *proc) Exited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// startProc runs `sessionbridge <command> --config cfg`, waits until addr
// answers /healthz, and arranges for a SIGTERM (then SIGKILL) at cleanup
// and for the log to be printed when the test failed.
func startProc(t testing.TB, name, command, cfgPath, addr string) *proc {
	t.Helper()
	p := &proc{Name: name, Addr: addr, logs: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bridgeBinary(t), command, "--config", cfgPath)
	p.cmd.Dir = filepath.Dir(cfgPath)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		if !p.Exited() {
			if err := p.Stop(15 * time.Second); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
		if t.Failed() {
			t.Logf("---- %s log ----\n%s", name, tail(p.Logs(), 200))
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.URL()+"/healthz", nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case <-p.exited:
			t.Fatalf("%s exited during start: %v\n%s", name, p.err, p.Logs())
		case <-ctx.Done():
			t.Fatalf("%s did not answer /healthz within 30s\n%s", name, p.Logs())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop sends SIGTERM and waits up to grace for a clean exit (status 0).
func (p *proc) Stop(grace time.Duration) error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		if p.err != nil {
			return fmt.Errorf("exit after SIGTERM: %v (want status 0)", p.err)
		}
		return nil
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("did not stop within %s of SIGTERM", grace)
	}
}

// Kill sends SIGKILL and waits for the process to be gone.
func (p *proc) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("... (%d earlier lines)", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// startServe starts `sessionbridge serve` on addr ("": a fresh port).
func startServe(t testing.TB, name string, s settings, addr string) *proc {
	t.Helper()
	if addr == "" {
		addr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	}
	ops := fmt.Sprintf("127.0.0.1:%d", freePort(t)) // unused by serve
	return startProc(t, name, "serve", writeConfig(t, t.TempDir(), s, addr, ops), addr)
}

// startRefresher starts `sessionbridge refresh` on a fresh ops port.
func startRefresher(t testing.TB, name string, s settings) *proc {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t)) // unused by refresh
	ops := fmt.Sprintf("127.0.0.1:%d", freePort(t))
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
