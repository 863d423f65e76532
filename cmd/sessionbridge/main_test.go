package main

// End-to-end tests of the sessionbridge binary: TestMain builds it once, and
// each test runs it as a subprocess in its own temporary working directory
// on its own loopback port, so the tests can run in parallel.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binPath is the binary TestMain built; it is set once before any test runs
// and only read afterwards.
var binPath string

// Bounds for the subprocess lifecycle. They are not performance claims: they
// only keep a hung process from hanging the test run. stopBound is above the
// server's own 20 s shutdown grace.
const (
	startBound = 60 * time.Second
	stopBound  = 30 * time.Second
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sessionbridge-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: temp dir:", err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "sessionbridge")
	if err := buildBinary(binPath); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build sessionbridge:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildBinary builds this package into out; under `go test -race` the binary
// is built with the race detector too, so a data race in the server makes it
// exit non-zero (66) and fails the stop assertion.
func buildBinary(out string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	args := []string{"build", "-o", out}
	if raceBuild {
		args = append(args, "-race")
	}
	args = append(args, ".")
	cmd := exec.Command(goBin, args...)
	var outBuf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &outBuf, &outBuf
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%v\n%s", err, outBuf.String())
	}
	return nil
}

// syncBuffer collects a subprocess's output; the process writes while the
// test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
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
	cmd := exec.CommandContext(ctx, binPath, args...)
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
			"GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET", "CORP_SECRET", "LEGACY_CLIENT_ID", "LEGACY_SECRET":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// server is a running `sessionbridge serve` subprocess.
type server struct {
	t    *testing.T
	dir  string
	url  string // http://127.0.0.1:PORT
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, valid after done is closed
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

func tryStartServe(t *testing.T, dir string, env []string, args ...string) (*server, error) {
	addr := freeAddr(t)
	s := &server{t: t, dir: dir, url: "http://" + addr, log: &syncBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(binPath, append([]string{"serve", "--listen", addr}, args...)...)
	s.cmd.Dir = dir
	s.cmd.Env = append(baseEnv(), env...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		return s, err
	}
	go func() { s.err = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			_ = s.cmd.Process.Kill()
			<-s.done
		}
		if t.Failed() {
			t.Logf("sessionbridge output (%s):\n%s", s.url, s.log.String())
		}
	})
	if err := s.waitHealthy(); err != nil {
		return s, err
	}
	return s, nil
}

// waitHealthy polls /healthz until it answers 200, the process exits, or
// startBound passes.
func (s *server) waitHealthy() error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(startBound)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := client.Get(s.url + "/healthz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			_ = s.cmd.Process.Kill()
			return fmt.Errorf("/healthz did not answer 200 within %v (last error: %v)", startBound, err)
		}
		select {
		case <-s.done:
			return fmt.Errorf("process exited before it was healthy: %v", s.err)
		case <-tick.C:
		}
	}
}

// stop sends SIGTERM and asserts the process exits with status 0 within
// stopBound.
func (s *server) stop() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		select {
		case <-s.done:
			s.t.Fatalf("the server had already exited: %v", s.err)
		default:
			s.t.Fatalf("SIGTERM: %v", err)
		}
	}
	select {
	case <-s.done:
	case <-time.After(stopBound):
		_ = s.cmd.Process.Kill()
		<-s.done
		s.t.Fatalf("the server did not exit within %v of SIGTERM", stopBound)
	}
	if s.err != nil {
		s.t.Fatalf("after SIGTERM the server exited with %v, want status 0", s.err)
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

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
