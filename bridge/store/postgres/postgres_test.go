package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/bridge/store/storetest"
)

const defaultDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// testDSN returns the database the tests may use: $SESSIONBRIDGE_TEST_POSTGRES,
// or the local default. An unreachable database skips the tests on a
// developer's machine, but fails them in CI or when the variable was set
// explicitly, so CI cannot pass without having run them.
func testDSN(t *testing.T) string {
	t.Helper()
	dsn, explicit := os.Getenv("SESSIONBRIDGE_TEST_POSTGRES"), true
	if dsn == "" {
		dsn, explicit = defaultDSN, false
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err == nil {
		err = conn.Ping(ctx)
		_ = conn.Close(ctx)
	}
	if err != nil {
		msg := fmt.Sprintf("PostgreSQL for tests unreachable (set SESSIONBRIDGE_TEST_POSTGRES): %v", err)
		if explicit || os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dsn
}

// freshSchema creates an empty schema, drops it when the test ends, and
// returns dsn with its search_path pointing there, so tests can run in
// parallel on one database.
func freshSchema(t *testing.T, dsn string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "sbtest_" + hex.EncodeToString(b[:])
	admin := func(sql string) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	admin("CREATE SCHEMA " + schema)
	t.Cleanup(func() { admin("DROP SCHEMA " + schema + " CASCADE") })
	return withSearchPath(t, dsn, schema)
}

func withSearchPath(t *testing.T, dsn, schema string) string {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("parse DSN: %v", err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}

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
	if all, _ := migrations(); n != len(all) {
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
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	u, err := pools[0].UpsertIdentity(t.Context(), store.IdentityInput{Provider: "p", ProviderUID: "u"}, now)
	if err != nil {
		t.Fatal(err)
	}
	const grants = 300
	for i := range grants {
		sess := store.Session{ID: fmt.Sprintf("s%03d", i), UserID: u.ID, RefreshAt: now.Add(-time.Duration(i) * time.Second)}
		if err := pools[i%2].CreateSession(t.Context(), &sess); err != nil {
			t.Fatal(err)
		}
	}
	var (
		mu   sync.Mutex
		seen = map[string]bool{}
		wg   sync.WaitGroup
	)
	errs := make(chan error, 8)
	for w := range 8 {
		h, owner := pools[w%2], fmt.Sprintf("w%d", w)
		wg.Go(func() {
			for {
				got, err := h.ClaimDueGrants(t.Context(), owner, now, time.Minute, 5)
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					return
				}
				var problem error // at most one per worker, so errs never blocks
				mu.Lock()
				for _, g := range got {
					if seen[g.ID] {
						problem = fmt.Errorf("%s claimed twice", g.ID)
					}
					seen[g.ID] = true
				}
				mu.Unlock()
				if problem != nil {
					errs <- problem
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != grants {
		t.Fatalf("claimed %d grants, want %d", len(seen), grants)
	}
}
