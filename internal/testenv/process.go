package testenv

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Binary is a main package compiled once per test binary, on first use, so
// that end-to-end tests can run it as a subprocess. Declare one as a
// package-level variable and call Remove from TestMain after m.Run.
type Binary struct {
	// Pkg is the package to build, relative to the module root, e.g.
	// "./cmd/sessionbridge".
	Pkg string
	// Race builds with -race, so that a data race in the subprocess makes
	// it exit non-zero (66) and fails whatever asserts a clean exit.
	Race bool

	once sync.Once
	dir  string
	path string
	err  error
}

// Path builds the binary if it has not been built yet and returns its path;
// a failed build fails every test that asks.
func (b *Binary) Path(t testing.TB) string {
	t.Helper()
	b.once.Do(b.build)
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

func (b *Binary) build() {
	root, err := FindRepoRoot()
	if err != nil {
		b.err = err
		return
	}
	b.dir, err = os.MkdirTemp("", "sessionbridge-test-bin-")
	if err != nil {
		b.err = err
		return
	}
	out := filepath.Join(b.dir, filepath.Base(b.Pkg))
	if err := GoBuild(root, b.Pkg, out, b.Race); err != nil {
		b.err = err
		return
	}
	b.path = out
}

// Remove deletes the built binary, if any.
func (b *Binary) Remove() {
	if b.dir != "" {
		_ = os.RemoveAll(b.dir)
	}
}

// GoBuild runs `go build [-race] -o out pkg` in dir. go test puts its own
// go command first in PATH, so the build uses the toolchain of the test run.
func GoBuild(dir, pkg, out string, race bool) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("the go command is not in PATH")
	}
	args := []string{"build", "-o", out}
	if race {
		args = append(args, "-race")
	}
	cmd := exec.Command(goBin, append(args, pkg)...)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// Process is a running subprocess whose combined output is kept.
type Process struct {
	Cmd    *exec.Cmd
	Output *Buffer
	done   chan struct{}
	err    error // Wait's result, valid once done is closed
}

// Start starts cmd with its stdout and stderr going to the Process's Output.
func Start(cmd *exec.Cmd) (*Process, error) {
	p := &Process{Cmd: cmd, Output: &Buffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.Output, p.Output
	if err := cmd.Start(); err != nil {
		return p, err
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	return p, nil
}

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Err is how the process ended (nil: status 0); valid once Done is closed.
func (p *Process) Err() error { return p.err }

// Kill sends SIGKILL and waits for the process to be gone.
func (p *Process) Kill() {
	_ = p.Cmd.Process.Kill()
	<-p.done
}

// Stop sends sig and waits up to grace for the process to exit with status
// 0. Past grace it kills the process. The error says what went wrong: the
// process had already exited, did not stop in time, or exited non-zero.
func (p *Process) Stop(sig os.Signal, grace time.Duration) error {
	if err := p.Cmd.Process.Signal(sig); err != nil {
		select {
		case <-p.done:
			return fmt.Errorf("the process had already exited: %v", p.err)
		default:
			return fmt.Errorf("signal %v: %v", sig, err)
		}
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
		p.Kill()
		return fmt.Errorf("did not exit within %v of %v", grace, sig)
	}
	if p.err != nil {
		return fmt.Errorf("after %v the process exited with %v, want status 0", sig, p.err)
	}
	return nil
}

// WaitHealthy polls baseURL+"/healthz" every 50ms until it answers 200. It
// gives up when the process exits or ctx ends, saying which.
func (p *Process) WaitHealthy(ctx context.Context, baseURL string) error {
	client := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/healthz", nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		select {
		case <-p.done:
			return fmt.Errorf("exited before it was healthy: %v", p.err)
		case <-ctx.Done():
			return fmt.Errorf("/healthz did not answer 200 in time (last error: %v)", err)
		case <-tick.C:
		}
	}
}

// StartHealthy starts cmd, waits up to bound for baseURL's /healthz, and at
// the test's end stops the process (SIGTERM, 15s grace) if it still runs,
// failing the test unless it exits with status 0, and prints the end of its
// output when the test failed. name labels the process in messages.
func StartHealthy(t testing.TB, name string, cmd *exec.Cmd, baseURL string, bound time.Duration) *Process {
	t.Helper()
	p, err := Start(cmd)
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		if !p.Exited() {
			if err := p.Stop(syscall.SIGTERM, 15*time.Second); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
		if t.Failed() {
			t.Logf("---- %s output ----\n%s", name, Tail(p.Output.String(), 200))
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	if err := p.WaitHealthy(ctx, baseURL); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, p.Output.String())
	}
	return p
}
