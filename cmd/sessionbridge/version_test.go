package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/sessionbridge/sessionbridge/internal/testenv"
)

// gitHead is the checkout's commit, "" when go build records no vcs.*
// settings: outside a git checkout, or in a linked worktree (Go looks for a
// .git directory, and a worktree has a .git file).
func gitHead(t *testing.T) string {
	t.Helper()
	root := testenv.RepoRoot(t)
	if st, err := os.Stat(filepath.Join(root, ".git")); err != nil || !st.IsDir() {
		return ""
	}
	out, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func TestCLIVersion(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"version", "--version"} {
		r := runCLI(t, t.TempDir(), nil, arg)
		if r.code != 0 {
			t.Fatalf("%s: exit %d\nstderr:\n%s", arg, r.code, r.stderr)
		}
		out := strings.TrimSpace(r.stdout)
		if !strings.HasPrefix(out, "sessionbridge ") || !strings.HasSuffix(out, "("+runtime.Version()+")") {
			t.Errorf("%s printed %q: want sessionbridge VERSION ... (%s)", arg, out, runtime.Version())
		}
	}
}

// TestCLIVersionStamped builds the binary as a release would: from the
// checkout with VCS stamping on (the machine's GOFLAGS may turn it off) and
// with -ldflags setting version and date.
func TestCLIVersionStamped(t *testing.T) {
	t.Parallel()
	head := gitHead(t)
	vcs := "-buildvcs=auto"
	if head != "" {
		vcs = "-buildvcs=true"
	}
	bin := filepath.Join(t.TempDir(), "sessionbridge")
	pkg := "github.com/sessionbridge/sessionbridge/internal/version."
	cmd := exec.Command("go", "build", vcs, "-ldflags", "-X "+pkg+"version=v9.8.7 -X "+pkg+"date=2026-12-03T10:00:00Z", "-o", bin, "./cmd/sessionbridge")
	cmd.Dir = testenv.RepoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := `^sessionbridge v9\.8\.7 `
	if head != "" {
		want += `commit ` + head[:12] + `(\+modified)? `
	}
	want += `built from 2026-12-03T10:00:00Z \(` + regexp.QuoteMeta(runtime.Version()) + `\)$`
	if !regexp.MustCompile(want).MatchString(strings.TrimSpace(string(out))) {
		t.Errorf("version printed %q, want a match for %s", out, want)
	}
}

func TestCLIServeBadListenIsUsageError(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := runCLI(t, dir, nil, "serve", "--listen", "nonsense")
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\nstderr:\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "--listen") || strings.Contains(r.stderr, "listening") {
		t.Errorf("stderr should name --listen and nothing should have started:\n%s", r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, devDataDir)); err == nil {
		t.Errorf("development mode created %s before refusing the address", devDataDir)
	}
}

func TestCLIHealth(t *testing.T) {
	t.Parallel()
	s := startServe(t, t.TempDir(), nil)

	t.Run("healthy server", func(t *testing.T) {
		r := runCLI(t, t.TempDir(), nil, "health", "--url", s.url+"/healthz")
		if r.code != 0 {
			t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("config names the address", func(t *testing.T) {
		addr := strings.TrimPrefix(s.url, "http://")
		cfg := writeFile(t, "h.yaml", minimalConfig(addr))
		r := runCLI(t, t.TempDir(), exampleEnv(t), "health", "--config", cfg)
		if r.code != 0 || !strings.Contains(r.stdout, addr) {
			t.Fatalf("exit %d, want 0 probing %s\nstdout:\n%s\nstderr:\n%s", r.code, addr, r.stdout, r.stderr)
		}
	})
	t.Run("nothing listening", func(t *testing.T) {
		r := runCLI(t, t.TempDir(), nil, "health", "--url", "http://"+testenv.FreeAddr(t)+"/healthz")
		if r.code != 1 {
			t.Fatalf("exit %d, want 1\nstderr:\n%s", r.code, r.stderr)
		}
	})
	t.Run("metric and startup line", func(t *testing.T) {
		_, body := s.get("/metrics", nil)
		if !regexp.MustCompile(`(?m)^sessionbridge_build_info\{.*goversion="` + regexp.QuoteMeta(runtime.Version()) + `".*\} 1$`).MatchString(body) {
			t.Errorf("no sessionbridge_build_info with the Go version in /metrics")
		}
		if !regexp.MustCompile(`sessionbridge listening".* version=\S+ .*go=` + regexp.QuoteMeta(runtime.Version())).MatchString(s.log.String()) {
			t.Errorf("the startup line does not carry the version:\n%s", s.log.String())
		}
	})
}

func TestDialable(t *testing.T) {
	for in, want := range map[string]string{
		":8080": "127.0.0.1:8080", "0.0.0.0:9091": "127.0.0.1:9091", "[::]:80": "[::1]:80", "10.1.2.3:8080": "10.1.2.3:8080",
	} {
		if got := dialable(in); got != want {
			t.Errorf("dialable(%q) = %q, want %q", in, got, want)
		}
	}
}

// minimalConfig is a valid configuration file listening on addr, with the
// secrets of exampleEnv and no providers.
func minimalConfig(addr string) string {
	return "listen: " + addr + "\n" + `public_url: http://` + addr + `
store:
  dsn: ./db.sqlite
secrets:
  session_keys: ["${SB_SESSION_KEY}"]
  token_keys: ["${SB_TOKEN_KEY}"]
`
}
