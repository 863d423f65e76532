package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/seal"
	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/bridge/store/postgres"
	"github.com/sessionbridge/sessionbridge/bridge/store/sqlite"
	"github.com/sessionbridge/sessionbridge/internal/testenv"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testpg"
)

// runCLIInput is runCLI with stdin.
func runCLIInput(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bridgeBin.Path(t), args...)
	cmd.Dir = t.TempDir()
	cmd.Env = baseEnv()
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		res.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return res
}

// adminStore is a SQLite store with sessions of two users and two
// providers, their tokens sealed with an old key; the configuration lists
// a new key first and the old one second.
type adminStore struct {
	cfg     string
	path    string
	users   map[string]string // name → user ID
	ids     map[string]string // "alice/github" → session ID
	secrets []string          // plaintext tokens
}

func newAdminStore(t *testing.T) *adminStore { return newAdminStoreOn(t, "sqlite") }

// newAdminStoreOn is newAdminStore on SQLite or PostgreSQL (a fresh schema).
func newAdminStoreOn(t *testing.T, driver string) *adminStore {
	t.Helper()
	oldKey, newKey := testenv.RandomBase64(32), testenv.RandomBase64(32)
	dec := func(s string) []byte { b, _ := base64.StdEncoding.DecodeString(s); return b }
	old, err := seal.New([][]byte{dec(oldKey)})
	if err != nil {
		t.Fatal(err)
	}
	a := &adminStore{path: filepath.Join(t.TempDir(), "sb.db"), users: map[string]string{}, ids: map[string]string{}}
	ctx := context.Background()
	var st store.Store
	if driver == "postgres" {
		a.path = testpg.FreshDSN(t, testpg.DSN(t), "cli_admin")
		st, err = postgres.Open(ctx, a.path, 0)
	} else {
		st, err = sqlite.Open(ctx, a.path)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	for _, name := range []string{"alice", "bob"} {
		u, err := st.UpsertIdentity(ctx, store.IdentityInput{Provider: "github", ProviderUID: name, Email: name + "@example.com"}, now)
		if err != nil {
			t.Fatal(err)
		}
		a.users[name] = u.ID
		for _, p := range []string{"github", "corp"} {
			s := store.Session{ID: store.NewID(), UserID: u.ID, CreatedAt: now, UpdatedAt: now, Expire: now.Add(time.Hour),
				SecretHash: []byte("h"), Provider: p, AccessTokenExpiry: now.Add(30 * time.Minute), RefreshAt: now.Add(25 * time.Minute)}
			access, refresh := "access-token-"+s.ID, "refresh-token-"+s.ID
			s.AccessTokenSealed, _ = old.Seal(access, seal.AAD(s.ID, "access"))
			s.RefreshTokenSealed, _ = old.Seal(refresh, seal.AAD(s.ID, "refresh"))
			if err := st.CreateSession(ctx, &s); err != nil {
				t.Fatal(err)
			}
			a.ids[name+"/"+p] = s.ID
			a.secrets = append(a.secrets, access, refresh)
		}
	}
	a.cfg = writeFile(t, "admin.yaml", "store:\n  driver: "+driver+"\n  dsn: \""+a.path+"\"\nsecrets:\n  session_keys: [\""+
		testenv.RandomBase64(32)+"\"]\n  token_keys: [\""+newKey+"\", \""+oldKey+"\"]\n")
	return a
}

func (a *adminStore) noSecrets(t *testing.T, r result) {
	t.Helper()
	for _, s := range a.secrets {
		if strings.Contains(r.stdout+r.stderr, s) {
			t.Fatalf("a token was printed")
		}
	}
}

func TestCLISessionsList(t *testing.T) {
	t.Parallel()
	a := newAdminStore(t)
	r := runCLIInput(t, "", "sessions", "list", "--config", a.cfg, "--format", "json")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	a.noSecrets(t, r)
	var all []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &all); err != nil || len(all) != 4 {
		t.Fatalf("json list: %v, %d rows\n%s", err, len(all), r.stdout)
	}
	for _, s := range all {
		for _, k := range []string{"id", "provider", "userId", "created", "expire", "accessTokenExpiry", "nextRefresh", "refreshState", "failures"} {
			if _, ok := s[k]; !ok {
				t.Errorf("row lacks %s: %v", k, s)
			}
		}
		if s["refreshState"] != "ok" || s["accessTokenExpiry"] == "" || s["nextRefresh"] == "" {
			t.Errorf("row = %v", s)
		}
	}
	r = runCLIInput(t, "", "sessions", "list", "--config", a.cfg, "--user", a.users["bob"], "--provider", "CORP")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, a.ids["bob/corp"]) || strings.Contains(r.stdout, a.ids["bob/github"]) ||
		!strings.Contains(r.stdout, "SESSION") || !strings.Contains(r.stdout, "1 session(s)") {
		t.Errorf("table for bob/corp:\n%s", r.stdout)
	}
	if r := runCLIInput(t, "", "sessions", "list", "--config", a.cfg, "--format", "xml"); r.code != 2 {
		t.Errorf("--format xml: exit %d, want 2", r.code)
	}
}

func TestCLISessionsRevoke(t *testing.T) {
	t.Parallel()
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			testCLISessionsRevoke(t, newAdminStoreOn(t, driver))
		})
	}
}

func testCLISessionsRevoke(t *testing.T, a *adminStore) {
	// Not confirmed: nothing ends.
	r := runCLIInput(t, "n\n", "sessions", "revoke", "--config", a.cfg, "--provider", "github")
	if r.code != 1 || !strings.Contains(r.stdout, a.ids["alice/github"]) || !strings.Contains(r.stdout, "End these 2 session(s)?") {
		t.Fatalf("unconfirmed revoke: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	left := func() int {
		l := runCLIInput(t, "", "sessions", "list", "--config", a.cfg, "--format", "json")
		var rows []any
		_ = json.Unmarshal([]byte(l.stdout), &rows)
		return len(rows)
	}
	if n := left(); n != 4 {
		t.Fatalf("%d sessions after an unconfirmed revoke, want 4", n)
	}
	r = runCLIInput(t, "y\n", "sessions", "revoke", "--config", a.cfg, "--provider", "github")
	if r.code != 0 || !strings.Contains(r.stdout, "ended session "+a.ids["bob/github"]) || !strings.Contains(r.stdout, "2 session(s) ended") {
		t.Fatalf("confirmed revoke: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = runCLIInput(t, "", "sessions", "revoke", a.ids["alice/corp"], "--config", a.cfg, "--yes")
	if r.code != 0 || !strings.Contains(r.stdout, "1 session(s) ended") {
		t.Fatalf("revoke ID --yes: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if n := left(); n != 1 {
		t.Fatalf("%d sessions left, want 1 (bob's corp session)", n)
	}
	if r := runCLIInput(t, "", "sessions", "revoke", "--config", a.cfg, "--user", "x", "--provider", "y"); r.code != 2 {
		t.Errorf("two selectors: exit %d, want 2", r.code)
	}
}

func TestCLIKeysReseal(t *testing.T) {
	t.Parallel()
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			testCLIKeysReseal(t, newAdminStoreOn(t, driver))
		})
	}
}

func testCLIKeysReseal(t *testing.T, a *adminStore) {
	staleLine := regexp.MustCompile(`secrets\.token_keys: (\d+) of 4 session\(s\) hold tokens sealed with a key that is not the first`)
	check := func() string {
		r := runCLIInput(t, "", "check", "--config", a.cfg, "--online")
		if r.code != 0 {
			t.Fatalf("check --online: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		m := staleLine.FindStringSubmatch(r.stdout)
		if m == nil {
			t.Fatalf("check --online does not count stale rows:\n%s", r.stdout)
		}
		return m[1]
	}
	if n := check(); n != "4" {
		t.Fatalf("before reseal: %s stale, want 4", n)
	}
	r := runCLIInput(t, "", "keys", "reseal", "--config", a.cfg, "--batch", "3")
	if r.code != 0 {
		t.Fatalf("keys reseal: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	a.noSecrets(t, r)
	if !strings.Contains(r.stdout, "scanned 3, resealed 3") || !strings.Contains(r.stdout, "done: 4 session(s) scanned, 4 resealed") {
		t.Errorf("progress and final count:\n%s", r.stdout)
	}
	if n := check(); n != "0" {
		t.Fatalf("after reseal: %s stale, want 0", n)
	}
}
