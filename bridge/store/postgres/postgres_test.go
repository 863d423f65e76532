package postgres

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/bridge/store/storetest"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testpg"
)

// testDSN is the database the tests may use (testpg: skipped without
// PostgreSQL on a developer's machine, failed in CI).
func testDSN(t *testing.T) string { return testpg.DSN(t) }

// freshSchema returns dsn with its search_path on an empty schema that is
// dropped when the test ends, so tests can run in parallel on one database.
func freshSchema(t *testing.T, dsn string) string { return testpg.FreshDSN(t, dsn, "sbtest_") }

func openFresh(t *testing.T, dsn string) *Store {
	t.Helper()
	s, err := Open(t.Context(), freshSchema(t, dsn), 8)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	dsn := testDSN(t)
	storetest.Run(t, func(t *testing.T) store.Store { return openFresh(t, dsn) })
}

// TestConcurrentOpenMigratesOnce: instances starting together on an
// empty schema apply each migration exactly once.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	dsn := freshSchema(t, testDSN(t))
	var wg sync.WaitGroup
	stores := make([]*Store, 4)
	errs := make([]error, 4)
	for i := range stores {
		wg.Go(func() { stores[i], errs[i] = Open(t.Context(), dsn, 2) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent Open: %v", err)
		}
		t.Cleanup(func() { _ = stores[i].Close() })
	}
	var n int
	if err := stores[0].pool.QueryRow(t.Context(), "SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if all, _ := loadMigrations(); n != len(all) {
		t.Fatalf("schema_migrations has %d rows, want %d", n, len(all))
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	dsn := freshSchema(t, testDSN(t))
	s, err := Open(t.Context(), dsn, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.pool.Exec(t.Context(), "INSERT INTO schema_migrations (version, name) VALUES (9999, '9999_future.sql')"); err != nil {
		t.Fatal(err)
	}
	_, err = Open(t.Context(), dsn, 2)
	if !errors.Is(err, store.ErrSchemaTooNew) || !strings.Contains(err.Error(), "9999") {
		t.Fatalf("Open on a newer schema: %v, want ErrSchemaTooNew naming version 9999", err)
	}
}

func TestBadDSN(t *testing.T) {
	_, err := Open(t.Context(), "postgres://user:hunter2@[::1:5432/db", 1)
	if err == nil || !strings.Contains(err.Error(), "invalid DSN") {
		t.Fatalf("Open(malformed) = %v, want an invalid DSN error", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error leaks the password: %v", err)
	}
	// Nothing listens on port 1 of loopback: a connection error that names
	// where it tried, without the password.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err = Open(ctx, "postgres://user:hunter2@127.0.0.1:1/db?sslmode=disable&connect_timeout=2", 1)
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("Open(unreachable) = %v, want a connection error naming the host and not the password", err)
	}
}

// TestTwoPoolsNeverDoubleClaim: two instances (separate pools) claiming
// from one schema at once never get the same grant.
func TestTwoPoolsNeverDoubleClaim(t *testing.T) {
	dsn := freshSchema(t, testDSN(t))
	var pools []*Store
	for range 2 {
		s, err := Open(t.Context(), dsn, 4)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		pools = append(pools, s)
	}
	storetest.TwoHandlesNeverDoubleClaim(t, pools[0], pools[1])
}
