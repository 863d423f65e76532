package main

import (
	"database/sql"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sessionbridge/sessionbridge/bridge/store/sqlite"
	"github.com/sessionbridge/sessionbridge/internal/devissuer"
	"github.com/sessionbridge/sessionbridge/internal/testenv"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testissuer"
)

// storeConfig writes a configuration without OpenID providers (so --online
// reaches only the store) whose SQLite database is dsn.
func storeConfig(t *testing.T, dsn string) string {
	t.Helper()
	return writeFile(t, "store.yaml", "store:\n  driver: sqlite\n  dsn: "+dsn+"\n"+
		"secrets:\n  session_keys: [\""+testenv.RandomBase64(32)+"\"]\n  token_keys: [\""+testenv.RandomBase64(32)+"\"]\n")
}

// TestCLICheckOnlineCreatesNoDatabase: check --online of a configuration
// whose database does not exist yet succeeds, says serve will create it,
// and creates neither the file nor its directory.
func TestCLICheckOnlineCreatesNoDatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := storeConfig(t, "./data/sessionbridge.db")
	r := runCLI(t, dir, nil, "check", "--config", cfg, "--online")
	if r.code != 0 {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	want := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(cfg) + `: store: sqlite: \./data/sessionbridge\.db does not exist yet; serve will create it`)
	if !want.MatchString(r.stdout) {
		t.Errorf("stdout has no line matching %s:\n%s", want, r.stdout)
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Errorf("check --online left %v (err %v) in its working directory", entries, err)
	}
}

// TestCLICheckOnlineExistingDatabase: an up-to-date database passes
// untouched; one migrated by a newer binary is a problem (exit 2).
func TestCLICheckOnlineExistingDatabase(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sessionbridge.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	cfg := storeConfig(t, path)
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, t.TempDir(), nil, "check", "--config", cfg, "--online")
	if r.code != 0 || strings.Contains(r.stdout+r.stderr, "store:") {
		t.Fatalf("exit %d, want 0 and nothing about the store\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if after, err := os.ReadFile(path); err != nil || string(after) != string(before) {
		t.Errorf("check --online changed the database (err %v)", err)
	}

	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("INSERT INTO schema_migrations (version, name) VALUES (9999, '9999_future.sql')"); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, t.TempDir(), nil, "check", "--config", cfg, "--online")
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	want := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(cfg) + `: store: sqlite: .*schema version 9999.*newer than this binary`)
	if !want.MatchString(r.stderr) {
		t.Errorf("stderr has no line matching %s:\n%s", want, r.stderr)
	}
}

// TestCLICheckOnlineEveryProvider: --online reaches every provider, not
// only type oidc, and reports a dead one at the line of the key that
// decides its URL.
func TestCLICheckOnlineEveryProvider(t *testing.T) {
	t.Parallel()
	live := testissuer.Start(t, devissuer.Options{ClientID: "c", ClientSecret: "s-secret-value"})
	dead := "http://" + testenv.FreeAddr(t)
	cfg := writeFile(t, "online.yaml", minimalConfig("127.0.0.1:8080")+`providers:
  good:
    type: oidc
    issuer: `+live.URL()+`
    client_id: c
    client_secret: s-secret-value
  kc:
    type: keycloak
    client_id: c
    client_secret: s
    settings:
      realm: staff
      base_url: `+dead+`
  legacy:
    type: oauth2
    client_id: c
    auth_url: `+live.URL()+`/authorize
    token_url: `+dead+`/token
    claims: {uid: id}
`)
	r := runCLI(t, t.TempDir(), exampleEnv(t), "check", "--config", cfg, "--online")
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		`(?m)^` + regexp.QuoteMeta(cfg) + `:20: providers\.kc\.settings\.base_url: discovery at ` + regexp.QuoteMeta(dead) + `/realms/staff failed`,
		`(?m)^` + regexp.QuoteMeta(cfg) + `:25: providers\.legacy\.token_url: ` + regexp.QuoteMeta(dead) + `/token is unreachable`,
	} {
		if !regexp.MustCompile(want).MatchString(r.stderr) {
			t.Errorf("stderr has no line matching %s:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "providers.good") || strings.Contains(r.stderr, "auth_url") {
		t.Errorf("a reachable provider or endpoint was reported:\n%s", r.stderr)
	}
	if live.Stats().DiscoveryRequests == 0 {
		t.Errorf("the live issuer's discovery document was not fetched")
	}
}

// TestCLICheckBranding: check refuses a primary colour white text cannot
// be read on (file:line: key: message, exit 2) and a template override
// that does not parse.
func TestCLICheckBranding(t *testing.T) {
	t.Parallel()
	secrets := "secrets:\n  session_keys: [\"" + testenv.RandomBase64(32) + "\"]\n  token_keys: [\"" + testenv.RandomBase64(32) + "\"]\n"
	cfg := writeFile(t, "brand.yaml", "branding:\n  primary_color: \"#ffcc00\"\n"+secrets)
	r := runCLI(t, t.TempDir(), nil, "check", "--config", cfg)
	want := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(cfg) + `:2: branding\.primary_color: #ffcc00: white text on it has a contrast of 1\.\d\d:1`)
	if r.code != 2 || !want.MatchString(r.stderr) {
		t.Errorf("exit %d, want 2 and a line matching %s\nstderr:\n%s", r.code, want, r.stderr)
	}
	tdir := t.TempDir()
	if err := os.WriteFile(filepath.Join(tdir, "login.html"), []byte(`{{define "login.html"}}{{if}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg = writeFile(t, "tmpl.yaml", "branding:\n  templates_dir: "+tdir+"\n"+secrets)
	r = runCLI(t, t.TempDir(), nil, "check", "--config", cfg)
	if r.code != 2 || !strings.Contains(r.stderr, "branding.templates_dir") || !strings.Contains(r.stderr, "login.html") {
		t.Errorf("broken override: exit %d\nstderr:\n%s", r.code, r.stderr)
	}
}
