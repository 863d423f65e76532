package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sessionbridge/sessionbridge/internal/testenv"
)

// exampleConfig is the repository's config.example.yaml, absolute.
func exampleConfig(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "config.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("config.example.yaml: %v", err)
	}
	return p
}

// exampleEnv sets every ${VAR} of config.example.yaml that has no default.
func exampleEnv(t *testing.T) []string {
	return []string{
		"SB_SESSION_KEY=" + testenv.RandomBase64(32),
		"SB_TOKEN_KEY=" + testenv.RandomBase64(32),
		"SB_API_KEY=" + strings.TrimRight(testenv.RandomBase64(32), "="),
		"GITHUB_CLIENT_ID=Iv1.e2etest",
		"GITHUB_CLIENT_SECRET=github-secret-for-tests",
		"CORP_SECRET=corp-secret-for-tests",
		"KEYCLOAK_SECRET=keycloak-secret-for-tests",
	}
}

// writeFile writes a file into a fresh temp dir and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCLIHelpOnEveryCommand(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--help"},
		{"serve", "--help"},
		{"refresh", "--help"},
		{"check", "--help"},
		{"providers", "--help"},
		{"sessions", "--help"},
		{"sessions", "list", "--help"},
		{"sessions", "revoke", "--help"},
		{"keys", "--help"},
		{"keys", "reseal", "--help"},
		{"health", "--help"},
		{"version", "--help"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, t.TempDir(), nil, args...)
			if r.code != 0 {
				t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout+r.stderr, "Usage") {
				t.Errorf("no usage text:\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			}
		})
	}
}

func TestCLIBadUsageExits2(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"frobnicate"},
		{"serve", "--no-such-flag"},
		{"check"}, // no --config and no SESSIONBRIDGE_CONFIG
		{"refresh"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, t.TempDir(), nil, args...)
			if r.code != 2 {
				t.Fatalf("exit %d, want 2\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			if strings.TrimSpace(r.stderr) == "" {
				t.Errorf("nothing on stderr says what was wrong")
			}
		})
	}
}

func TestCLICheckExampleConfig(t *testing.T) {
	t.Parallel()
	cfg := exampleConfig(t)
	env := exampleEnv(t)
	r := runCLI(t, t.TempDir(), env, "check", "--config", cfg)
	if r.code != 0 {
		t.Fatalf("check %s: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", cfg, r.code, r.stdout, r.stderr)
	}
	for _, kv := range env {
		_, secret, _ := strings.Cut(kv, "=")
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Errorf("check printed the value of %s", kv[:strings.Index(kv, "=")])
		}
	}
}

func TestCLICheckMissingVariableNamesKey(t *testing.T) {
	t.Parallel()
	var env []string
	for _, kv := range exampleEnv(t) {
		if !strings.HasPrefix(kv, "SB_TOKEN_KEY=") {
			env = append(env, kv)
		}
	}
	cfg := exampleConfig(t)
	r := runCLI(t, t.TempDir(), env, "check", "--config", cfg)
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\nstderr:\n%s", r.code, r.stderr)
	}
	want := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(cfg) + `:\d+: secrets\.token_keys\S*: .*SB_TOKEN_KEY`)
	if !want.MatchString(r.stderr) {
		t.Errorf("stderr does not match %s:\n%s", want, r.stderr)
	}
}

func TestCLICheckUnknownKey(t *testing.T) {
	t.Parallel()
	cfg := writeFile(t, "bad.yaml", "listen: 127.0.0.1:8080\nsession:\n  duration: 5m\n  durashun: 1h\n")
	r := runCLI(t, t.TempDir(), nil, "check", "--config", cfg)
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	want := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(cfg) + `:4: session\.durashun: \S.*$`)
	if !want.MatchString(r.stderr) {
		t.Errorf("stderr has no line matching %s:\n%s", want, r.stderr)
	}
}

func TestCLIConfigFromEnvironment(t *testing.T) {
	t.Parallel()
	t.Run("valid", func(t *testing.T) {
		t.Parallel()
		env := append(exampleEnv(t), "SESSIONBRIDGE_CONFIG="+exampleConfig(t))
		r := runCLI(t, t.TempDir(), env, "check")
		if r.code != 0 {
			t.Fatalf("check with SESSIONBRIDGE_CONFIG: exit %d, want 0\nstderr:\n%s", r.code, r.stderr)
		}
	})
	t.Run("invalid", func(t *testing.T) {
		t.Parallel()
		cfg := writeFile(t, "env.yaml", "bogus: 1\n")
		r := runCLI(t, t.TempDir(), []string{"SESSIONBRIDGE_CONFIG=" + cfg}, "check")
		if r.code != 2 {
			t.Fatalf("exit %d, want 2\nstderr:\n%s", r.code, r.stderr)
		}
		want := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(cfg) + `:1: bogus: \S`)
		if !want.MatchString(r.stderr) {
			t.Errorf("stderr has no line matching %s:\n%s", want, r.stderr)
		}
	})
	t.Run("serve", func(t *testing.T) {
		// serve must read the file named by SESSIONBRIDGE_CONFIG rather
		// than start in development mode.
		t.Parallel()
		cfg := writeFile(t, "env.yaml", "bogus: 1\n")
		r := runCLI(t, t.TempDir(), []string{"SESSIONBRIDGE_CONFIG=" + cfg}, "serve", "--listen", "127.0.0.1:0")
		if r.code != 2 {
			t.Fatalf("exit %d, want 2\nstderr:\n%s", r.code, r.stderr)
		}
		if !strings.Contains(r.stderr, cfg+":1: bogus:") {
			t.Errorf("stderr does not name the file's problem:\n%s", r.stderr)
		}
	})
}

func TestCLIProviders(t *testing.T) {
	t.Parallel()
	r := runCLI(t, t.TempDir(), nil, "providers")
	if r.code != 0 {
		t.Fatalf("exit %d, want 0\nstderr:\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "oidc") {
		t.Errorf("providers does not list oidc:\n%s", r.stdout)
	}
}

// `providers oidc` and `providers oauth2` print a block that, pasted
// under a configuration with its variables set, passes check; names are
// case-insensitive.
func TestCLIProvidersGenericBlocks(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"oidc", "OAuth2", "GitHub"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, t.TempDir(), nil, "providers", name)
			if r.code != 0 || !strings.Contains(r.stdout, "providers:\n") {
				t.Fatalf("providers %s: exit %d\nstdout:\n%s\nstderr:\n%s", name, r.code, r.stdout, r.stderr)
			}
			cfg := writeFile(t, "p.yaml", minimalConfig("127.0.0.1:8080")+r.stdout)
			env := append(exampleEnv(t), "CORP_CLIENT_ID=id", "CORP_CLIENT_SECRET=s", "LEGACY_CLIENT_ID=id",
				"LEGACY_CLIENT_SECRET=s", "GITHUB_CLIENT_ID=id")
			c := runCLI(t, t.TempDir(), env, "check", "--config", cfg)
			if c.code != 0 {
				t.Fatalf("the block of providers %s does not pass check: exit %d\n%s\n%s", name, c.code, c.stderr, r.stdout)
			}
		})
	}
}

func TestCLICheckWarnsOfReusedSecret(t *testing.T) {
	t.Parallel()
	key := testenv.RandomBase64(32)
	cfg := writeFile(t, "reuse.yaml", minimalConfig("127.0.0.1:8080")+"api_keys:\n  - id: backend\n    secret: ${SB_API_KEY}\n    scopes: [users.read]\n")
	env := []string{"SB_SESSION_KEY=" + key, "SB_TOKEN_KEY=" + key, "SB_API_KEY=" + key}
	r := runCLI(t, t.TempDir(), env, "check", "--config", cfg)
	if r.code != 0 {
		t.Fatalf("exit %d, want 0 (a warning)\n%s", r.code, r.stderr)
	}
	for _, want := range []string{
		`(?m)^` + regexp.QuoteMeta(cfg) + `:7: secrets\.token_keys\[0\]: warning: the same secret as secrets\.session_keys\[0\]`,
		`(?m)^` + regexp.QuoteMeta(cfg) + `:10: api_keys\[0\]\.secret: warning: the same secret as secrets\.session_keys\[0\]`,
	} {
		if !regexp.MustCompile(want).MatchString(r.stderr) {
			t.Errorf("stderr does not match %s:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stdout+r.stderr, key) {
		t.Errorf("check printed the secret")
	}
	// Separate secrets: no warning.
	ok := runCLI(t, t.TempDir(), exampleEnv(t), "check", "--config", cfg)
	if ok.code != 0 || strings.Contains(ok.stderr, "warning") {
		t.Errorf("separate secrets: exit %d\n%s", ok.code, ok.stderr)
	}
}
