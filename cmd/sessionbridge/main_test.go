package main

// End-to-end tests of the sessionbridge binary: TestMain builds it once, and
// each test runs it as a subprocess in its own temporary working directory
// on its own loopback port, so the tests can run in parallel.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/internal/testenv"
)

// bridgeBin is the binary under test, built on first use. Under `go test
// -race` it is built with the race detector too, so a data race in the
// server makes it exit non-zero (66) and fails the stop assertion.
var bridgeBin = &testenv.Binary{Pkg: "./cmd/sessionbridge", Race: raceBuild}

// Bounds for the subprocess lifecycle. They are not performance claims: they
// only keep a hung process from hanging the test run. stopBound is above the
// server's own shutdown bound (20 s, or refresh.timeout + 15 s).
const (
	startBound = 60 * time.Second
	stopBound  = 60 * time.Second
)

func TestMain(m *testing.M) {
	code := m.Run()
	bridgeBin.Remove()
	os.Exit(code)
}

// result is how a finished command ended.
type result struct {
	code   int
	stdout string
	stderr string
}

// runCLI runs the binary to completion in dir with env added to a clean copy
// of the environment (no SESSIONBRIDGE_CONFIG unless given).
func runCLI(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startBound)
	defer cancel()
	cmd := exec.CommandContext(ctx, bridgeBin.Path(t), args...)
	cmd.Dir = dir
	cmd.Env = append(baseEnv(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		res.code = ee.ExitCode()
	default:
		t.Fatalf("sessionbridge %s: %v\nstderr:\n%s", strings.Join(args, " "), err, res.stderr)
	}
	return res
}

// baseEnv is the test's environment without the variables that would
// change which configuration the binary reads.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "SESSIONBRIDGE_CONFIG", "SB_SESSION_KEY", "SB_TOKEN_KEY", "SB_API_KEY",
			"GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET", "CORP_SECRET", "LEGACY_CLIENT_ID", "LEGACY_SECRET", "KEYCLOAK_SECRET":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// server is a running `sessionbridge serve` subprocess.
type server struct {
	t   *testing.T
	dir string
	url string // http://127.0.0.1:PORT
	log *testenv.Buffer
	p   *testenv.Process
}

// startServe starts `sessionbridge serve --listen 127.0.0.1:PORT args...` in
// dir and waits until /healthz answers 200. A port taken between choosing
// it and binding it is retried with another.
func startServe(t *testing.T, dir string, env []string, args ...string) *server {
	t.Helper()
	for attempt := 0; ; attempt++ {
		s, err := tryStartServe(t, dir, env, args...)
		if err == nil {
			return s
		}
		if attempt < 2 && strings.Contains(s.log.String(), "address already in use") {
			continue
		}
		t.Fatalf("start sessionbridge serve: %v\noutput:\n%s", err, s.log.String())
	}
}

// tryStartServe starts one attempt; at the test's end a server still
// running is killed (tests that assert a clean exit call stop first).
func tryStartServe(t *testing.T, dir string, env []string, args ...string) (*server, error) {
	addr := testenv.FreeAddr(t)
	cmd := exec.Command(bridgeBin.Path(t), append([]string{"serve", "--listen", addr}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(baseEnv(), env...)
	p, err := testenv.Start(cmd)
	s := &server{t: t, dir: dir, url: "http://" + addr, log: p.Output, p: p}
	if err != nil {
		return s, err
	}
	t.Cleanup(func() {
		if !p.Exited() {
			p.Kill()
		}
		if t.Failed() {
			t.Logf("sessionbridge output (%s):\n%s", s.url, s.log.String())
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), startBound)
	defer cancel()
	if err := p.WaitHealthy(ctx, s.url); err != nil {
		if !p.Exited() {
			p.Kill()
		}
		return s, err
	}
	return s, nil
}

// stop sends SIGTERM and asserts the process exits with status 0 within
// stopBound.
func (s *server) stop() {
	s.t.Helper()
	if err := s.p.Stop(syscall.SIGTERM, stopBound); err != nil {
		s.t.Fatalf("stop the server: %v", err)
	}
}

// get fetches path from the server without following redirects.
func (s *server) get(path string, header http.Header) (*http.Response, string) {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.url+path, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	client := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		s.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		s.t.Fatalf("GET %s: read body: %v", path, err)
	}
	return resp, string(body)
}
