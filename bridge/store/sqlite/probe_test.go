package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// latest is the number of embedded migrations (versions need not be
// contiguous, so the tests compare counts and the last version).
func latest(t *testing.T) (count, version int) {
	t.Helper()
	all, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	return len(all), all[len(all)-1].Version
}

// dirState is every file of dir with its mode, mtime and content, to prove
// that a probe changed, created and deleted nothing.
func dirState(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %v %d", e.Name(), fi.Mode(), fi.ModTime().UnixNano())
		if fi.Mode().IsRegular() {
			body, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, " %x", body)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// probeUnchanged probes path and fails if its directory changed.
func probeUnchanged(t *testing.T, path string) (ProbeResult, error) {
	t.Helper()
	before := dirState(t, filepath.Dir(path))
	r, err := Probe(t.Context(), path)
	if after := dirState(t, filepath.Dir(path)); after != before {
		t.Errorf("Probe changed the directory:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	return r, err
}

// migrated creates a migrated database file at path and closes it.
func migrated(t *testing.T, path string) {
	t.Helper()
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// execRaw runs a statement on the file outside the Store, as an older or
// newer binary would have left it.
func execRaw(t *testing.T, path, stmt string) {
	t.Helper()
	db, err := sql.Open("sqlite", path+params)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

func TestProbeMissingFileCreatesNothing(t *testing.T) {
	n, _ := latest(t)
	root := t.TempDir()
	for _, path := range []string{filepath.Join(root, "new.db"), filepath.Join(root, "data", "new.db")} {
		r, err := Probe(t.Context(), "file:"+path)
		if err != nil {
			t.Fatalf("Probe(%s): %v", path, err)
		}
		if r.Exists || r.Version != 0 || r.Pending != n || r.Path != path {
			t.Errorf("Probe(%s) = %+v, want a missing file with %d pending", path, r, n)
		}
		if !strings.Contains(r.Note(), "does not exist yet") || !strings.Contains(r.Note(), fmt.Sprintf("apply %d migration(s)", n)) {
			t.Errorf("Note() = %q", r.Note())
		}
	}
	if entries, err := os.ReadDir(root); err != nil || len(entries) != 0 {
		t.Fatalf("Probe left %v (err %v) in an empty directory", entries, err)
	}
}

func TestProbeUpToDate(t *testing.T) {
	_, v := latest(t)
	path := filepath.Join(t.TempDir(), "current.db")
	migrated(t, path)
	r, err := probeUnchanged(t, path)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Exists || r.Version != v || r.Pending != 0 || r.Note() != "" {
		t.Fatalf("Probe = %+v (note %q), want version %d with nothing pending", r, r.Note(), v)
	}
}

func TestProbeOlderSchema(t *testing.T) {
	n, _ := latest(t)
	path := filepath.Join(t.TempDir(), "older.db")
	migrated(t, path)
	// The oldest state there is: a file Open created but no migration
	// recorded. (With one migration embedded, this is "one version older".)
	execRaw(t, path, "DELETE FROM schema_migrations")
	r, err := probeUnchanged(t, path)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Exists || r.Version != 0 || r.Pending != n {
		t.Fatalf("Probe = %+v, want version 0 with %d pending", r, n)
	}
	if !strings.Contains(r.Note(), fmt.Sprintf("serve will apply %d migration(s)", n)) {
		t.Errorf("Note() = %q", r.Note())
	}

	// An empty file (as Open creates it first) has no schema at all.
	empty := filepath.Join(t.TempDir(), "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r, err = probeUnchanged(t, empty)
	if err != nil || !r.Exists || r.Version != 0 || r.Pending != n {
		t.Fatalf("Probe(empty file) = %+v, %v; want version 0 with %d pending", r, err, n)
	}
}

func TestProbeNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "future.db")
	migrated(t, path)
	execRaw(t, path, "INSERT INTO schema_migrations (version, name) VALUES (9999, '9999_future.sql')")
	_, err := probeUnchanged(t, path)
	if !errors.Is(err, store.ErrSchemaTooNew) {
		t.Fatalf("Probe on a newer schema: %v, want ErrSchemaTooNew", err)
	}
	// The same words as serve's refusal.
	_, openErr := Open(t.Context(), path)
	if openErr == nil || err.Error() != openErr.Error() {
		t.Errorf("Probe says %q, Open says %q", err, openErr)
	}
}

// TestProbeWhileOpen: with serve running, the probe sees what is still
// only in the WAL, and does not disturb the database file.
func TestProbeWhileOpen(t *testing.T) {
	n, v := latest(t)
	path := filepath.Join(t.TempDir(), "live.db")
	s := openAt(t, path)
	r, err := Probe(t.Context(), path)
	if err != nil || r.Version != v || r.Pending != 0 {
		t.Fatalf("Probe = %+v, %v; want version %d", r, err, v)
	}
	if _, err := s.db.Exec("DELETE FROM schema_migrations"); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err = Probe(t.Context(), path)
	if err != nil || r.Version != 0 || r.Pending != n {
		t.Fatalf("Probe after a change in the WAL = %+v, %v; want version 0", r, err)
	}
	if after, err := os.ReadFile(path); err != nil || string(after) != string(before) {
		t.Errorf("Probe changed the database file (err %v)", err)
	}
}

func TestProbeProblems(t *testing.T) {
	dir := t.TempDir()
	notDB := filepath.Join(dir, "not.db")
	if err := os.WriteFile(notDB, []byte(strings.Repeat("not a database ", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, dsn := range []string{"", ":memory:", "x.db?_pragma=foo", dir, notDB} {
		if r, err := Probe(t.Context(), dsn); err == nil {
			t.Errorf("Probe(%q) = %+v, want an error", dsn, r)
		}
	}
}
