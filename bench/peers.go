package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/sessionbridge/sessionbridge/internal/devissuer"
)

// oauth2ProxyVersion is the peer this benchmark pins.
const oauth2ProxyVersion = "v7.15.6"

const (
	clientID     = "bench-client"
	clientSecret = "bench-client-secret-0123456789"
)

// buildSessionbridge builds the binary from this checkout.
func buildSessionbridge(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "sessionbridge")
	log.Printf("building sessionbridge")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/sessionbridge")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/sessionbridge (run the bench from the repository root): %w", err)
	}
	return bin, nil
}

// findOAuth2Proxy returns the given binary, one already installed, or
// installs oauth2ProxyVersion with go install.
func findOAuth2Proxy(ctx context.Context, given string) (string, error) {
	if given != "" {
		return given, nil
	}
	var candidates []string
	if gobin := goEnv("GOBIN"); gobin != "" {
		candidates = append(candidates, filepath.Join(gobin, "oauth2-proxy"))
	}
	candidates = append(candidates, filepath.Join(goEnv("GOPATH"), "bin", "oauth2-proxy"))
	if p, err := exec.LookPath("oauth2-proxy"); err == nil {
		candidates = append(candidates, p)
	}
	for _, c := range candidates {
		// A go-installed binary reports "undefined" to --version; its
		// build information names the module version.
		out, err := exec.CommandContext(ctx, "go", "version", "-m", c).CombinedOutput()
		if err == nil && strings.Contains(string(out), "github.com/oauth2-proxy/oauth2-proxy/v7\t"+oauth2ProxyVersion) {
			return c, nil
		}
	}
	log.Printf("installing oauth2-proxy %s (go install)", oauth2ProxyVersion)
	cmd := exec.CommandContext(ctx, "go", "install", "github.com/oauth2-proxy/oauth2-proxy/v7@"+oauth2ProxyVersion)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go install oauth2-proxy: %w", err)
	}
	if gobin := goEnv("GOBIN"); gobin != "" {
		return filepath.Join(gobin, "oauth2-proxy"), nil
	}
	return filepath.Join(goEnv("GOPATH"), "bin", "oauth2-proxy"), nil
}

func goEnv(key string) string {
	out, err := exec.Command("go", "env", key).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func lookWrk() (string, error) {
	p, err := exec.LookPath("wrk")
	if err != nil {
		return "", errors.New("wrk not found on PATH (Debian: apt-get install wrk)")
	}
	return p, nil
}

// startIssuer runs the dev issuer in this process on a loopback port,
// approving every login at once as one user, signing with ES256.
func startIssuer() (*devissuer.Issuer, error) {
	iss, err := devissuer.New(devissuer.Options{
		ClientID: clientID, ClientSecret: clientSecret, ES256: true,
		AccessTokenTTL: time.Hour, RotateRefreshTokens: true,
		AutoApprove: &devissuer.User{Email: "bench@example.com", Name: "Bench User", EmailVerified: true},
	})
	if err != nil {
		return nil, err
	}
	if _, err := iss.Start("127.0.0.1:0"); err != nil {
		return nil, err
	}
	return iss, nil
}

// freePort returns a loopback address no one listens on.
func freePort() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// cookieSecret is 32 random bytes, base64url, as oauth2-proxy wants.
func cookieSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func randomBase64(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// process is a started peer.
type process struct {
	name string
	cmd  *exec.Cmd
	addr string
	logf *os.File
}

func startProcess(name, dir, addr string, bin string, env []string, args ...string) (*process, error) {
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, addr: addr, logf: logf}
	return p, nil
}

// waitReady polls url until it answers below 500.
func (p *process) waitReady(url string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	out, _ := os.ReadFile(p.logf.Name())
	return fmt.Errorf("%s did not become ready at %s; its log:\n%s", p.name, url, tail(string(out), 2000))
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func (p *process) stop() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(50 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
	p.logf.Close()
}

// startOAuth2Proxy starts the peer with pinned flags: the OIDC provider,
// PKCE S256 (as sessionbridge), cookie sessions (its default), a static
// upstream, and its default logging (standard, auth and request logs).
func startOAuth2Proxy(bin, dir, issuerURL string) (*process, error) {
	addr := freePort()
	args := []string{
		"--provider=oidc",
		"--oidc-issuer-url=" + issuerURL,
		"--client-id=" + clientID,
		"--client-secret=" + clientSecret,
		"--redirect-url=http://" + addr + "/oauth2/callback",
		"--http-address=" + addr,
		"--cookie-secret=" + cookieSecret(),
		"--cookie-secure=false",
		"--email-domain=*",
		"--upstream=static://202",
		"--code-challenge-method=S256",
		"--skip-provider-button=true",
		"--session-store-type=cookie",
	}
	p, err := startProcess("oauth2-proxy", dir, addr, bin, nil, args...)
	if err != nil {
		return nil, err
	}
	if err := p.waitReady("http://" + addr + "/ping"); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

// sessionbridgeConfig writes a configuration for one instance.
type sbConfig struct {
	driver, dsn, issuerURL, sessionKey, tokenKey, apiKey string
	refresh                                              bool
	// ops, when set, is the ops listener's address (pprof for -profile).
	ops string
}

func newSBConfig(driver, dsn, issuerURL string) sbConfig {
	return sbConfig{driver: driver, dsn: dsn, issuerURL: issuerURL,
		sessionKey: randomBase64(32), tokenKey: randomBase64(32), apiKey: randomBase64(24)}
}

func (c sbConfig) write(path, addr string) error {
	y := fmt.Sprintf(`listen: %[1]s
public_url: http://%[1]s
project: default
store:
  driver: %[2]s
  dsn: %[3]q
secrets:
  session_keys: [%[4]q]
  token_keys: [%[5]q]
api_keys:
  - id: bench
    secret: %[6]q
    scopes: [sessions.read, sessions.write, users.read, users.write]
refresh:
  enabled: %[9]v
rate_limits:
  enabled: false
providers:
  dev:
    type: oidc
    issuer: %[7]s
    client_id: %[8]s
    client_secret: %[10]s
`, addr, c.driver, c.dsn, c.sessionKey, c.tokenKey, c.apiKey, c.issuerURL, clientID, c.refresh, clientSecret)
	if c.ops != "" {
		y += "ops:\n  listen: " + c.ops + "\n"
	}
	return os.WriteFile(path, []byte(y), 0o600)
}

// startSessionbridge starts `serve` with cfg on a free port.
func startSessionbridge(bin, dir, name string, cfg sbConfig) (*process, error) {
	addr := freePort()
	path := filepath.Join(dir, name+".yaml")
	if err := cfg.write(path, addr); err != nil {
		return nil, err
	}
	p, err := startProcess(name, dir, addr, bin, nil, "serve", "--config", path)
	if err != nil {
		return nil, err
	}
	if err := p.waitReady("http://" + addr + "/readyz"); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}
