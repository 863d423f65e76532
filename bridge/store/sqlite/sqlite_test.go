package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/bridge/store/storetest"
)

func openTemp(t testing.TB) *Store {
	t.Helper()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "data", "test.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}

// TestTwoHandlesNeverDoubleClaim simulates serve and a refresh daemon:
// two independent *Store handles (separate pools, separate in-process
// mutexes) on one file claim concurrently. Only SQLite's locking keeps
// them apart.
func TestTwoHandlesNeverDoubleClaim(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	var handles []*Store
	for range 2 {
		s, err := Open(t.Context(), path)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		handles = append(handles, s)
	}
	storetest.TwoHandlesNeverDoubleClaim(t, handles[0], handles[1])
}

// TestConcurrentOpenMigratesOnce: processes starting together on a new
// file must not trip over each other's migration.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	for round := range 4 {
		path := filepath.Join(t.TempDir(), fmt.Sprintf("new%d.db", round))
		var wg sync.WaitGroup
		errs := make([]error, 6)
		for i := range errs {
			wg.Go(func() {
				s, err := Open(t.Context(), path)
				if err == nil {
					err = s.Close()
				}
				errs[i] = err
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatalf("concurrent Open: %v", err)
			}
		}
		s := openAt(t, path)
		var n, latest int
		if err := s.db.QueryRow("SELECT COUNT(*), MAX(version) FROM schema_migrations").Scan(&n, &latest); err != nil {
			t.Fatal(err)
		}
		all, _ := loadMigrations()
		if n != len(all) || latest != all[len(all)-1].Version {
			t.Fatalf("schema_migrations has %d rows up to %d, want %d", n, latest, len(all))
		}
	}
}

func openAt(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestFileModes(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "nested", "data")
	s := openAt(t, filepath.Join(dir, "modes.db"))
	// Write something so the WAL and shared-memory files exist.
	if _, err := s.UpsertIdentity(t.Context(), store.IdentityInput{Provider: "p", ProviderUID: "1"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	checkMode(t, dir, 0o700|fs.ModeDir)
	for _, suffix := range []string{"", "-wal", "-shm"} {
		checkMode(t, s.Path()+suffix, 0o600)
	}

	// A file left with a loose mode by someone else is tightened on open.
	loose := filepath.Join(t.TempDir(), "loose.db")
	if err := os.WriteFile(loose, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	openAt(t, loose)
	checkMode(t, loose, 0o600)
}

func checkMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != want {
		t.Errorf("%s has mode %v, want %v", filepath.Base(path), fi.Mode(), want)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "future.db")
	s := openAt(t, path)
	if _, err := s.db.Exec("INSERT INTO schema_migrations (version, name) VALUES (9999, '9999_future.sql')"); err != nil {
		t.Fatal(err)
	}
	_, err := Open(t.Context(), path)
	if !errors.Is(err, store.ErrSchemaTooNew) {
		t.Fatalf("Open on a newer schema: %v, want ErrSchemaTooNew", err)
	}
	if !strings.Contains(err.Error(), "9999") {
		t.Errorf("error %q does not name the database's schema version", err)
	}
}

func TestBadDSN(t *testing.T) {
	for _, dsn := range []string{"", ":memory:", "x.db?_pragma=foo"} {
		if s, err := Open(t.Context(), dsn); err == nil {
			_ = s.Close()
			t.Errorf("Open(%q) succeeded", dsn)
		}
	}
}

// TestGrantQueriesUseIndex pins the plans of the refresher's hot
// queries: a full scan would make every wake-up cost the table size.
func TestGrantQueriesUseIndex(t *testing.T) {
	s := openTemp(t)
	for name, q := range map[string]struct {
		sql  string
		args []any
	}{
		"due":   {dueQuery, []any{1}},
		"claim": {claimQuery, []any{`["a","b"]`, "o", 2}},
		"next":  {nextQuery, nil},
		"count": {countQuery, []any{1}},
	} {
		rows, err := s.db.Query("EXPLAIN QUERY PLAN "+q.sql, q.args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		joined := strings.Join(plan, "; ")
		t.Logf("%s: %s", name, joined)
		if name == "claim" {
			// The lease write looks the claimed rows up by primary key.
			if strings.Contains(joined, "SCAN sessions") {
				t.Errorf("claim query plan %q scans the sessions table", joined)
			}
			continue
		}
		if !strings.Contains(joined, "sessions_refresh_at") || strings.Contains(joined, "TEMP B-TREE") {
			t.Errorf("%s query plan %q does not walk the sessions_refresh_at index", name, joined)
		}
	}
}
