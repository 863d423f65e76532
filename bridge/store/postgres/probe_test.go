package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testpg"
)

// probeSchema is a fresh, empty schema: the administrative DSN, the
// schema's name and a DSN whose search_path is on it.
func probeSchema(t *testing.T) (admin, schema, dsn string) {
	t.Helper()
	admin = testDSN(t)
	schema = testpg.FreshSchema(t, admin, "sbprobe_")
	return admin, schema, testpg.WithSearchPath(t, admin, schema, "")
}

// schemaState lists the schema's tables and schema_migrations' rows, to
// prove that a probe created and changed nothing.
func schemaState(t *testing.T, admin, schema string) string {
	t.Helper()
	ctx := t.Context()
	conn, err := testpg.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = $1 ORDER BY 1", schema)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	state := fmt.Sprint(tables)
	for _, table := range tables {
		if table != "schema_migrations" {
			continue
		}
		rows, err := conn.Query(ctx, "SELECT version::text || ' ' || name || ' ' || applied_at::text FROM "+
			pgx.Identifier{schema, table}.Sanitize()+" ORDER BY version")
		if err != nil {
			t.Fatal(err)
		}
		versions, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		state += fmt.Sprint(versions)
	}
	return state
}

// probeUnchanged probes dsn and fails if the schema changed.
func probeUnchanged(t *testing.T, admin, schema, dsn string) (ProbeResult, error) {
	t.Helper()
	before := schemaState(t, admin, schema)
	r, err := Probe(t.Context(), dsn)
	if after := schemaState(t, admin, schema); after != before {
		t.Errorf("Probe changed the schema:\nbefore: %s\nafter:  %s", before, after)
	}
	return r, err
}

// migrated runs Open on dsn and closes the store.
func migrated(t *testing.T, dsn string) {
	t.Helper()
	s, err := Open(t.Context(), dsn, 2)
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
}

func latestMigration(t *testing.T) (count, version int) {
	t.Helper()
	all, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	return len(all), all[len(all)-1].Version
}

func TestProbeEmptySchemaCreatesNothing(t *testing.T) {
	n, _ := latestMigration(t)
	admin, schema, dsn := probeSchema(t)
	r, err := probeUnchanged(t, admin, schema, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if r.Schema != schema || r.Version != 0 || r.Pending != n {
		t.Fatalf("Probe = %+v, want schema %s at version 0 with %d pending", r, schema, n)
	}
	if !strings.Contains(r.Note(), fmt.Sprintf("serve will apply %d migration(s)", n)) {
		t.Errorf("Note() = %q", r.Note())
	}
	if got := schemaState(t, admin, schema); got != "[]" {
		t.Errorf("the empty schema now has tables: %s", got)
	}
}

func TestProbeUpToDate(t *testing.T) {
	_, v := latestMigration(t)
	admin, schema, dsn := probeSchema(t)
	migrated(t, dsn)
	r, err := probeUnchanged(t, admin, schema, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if r.Version != v || r.Pending != 0 || r.Note() != "" {
		t.Fatalf("Probe = %+v (note %q), want version %d with nothing pending", r, r.Note(), v)
	}
}

func TestProbeOlderSchema(t *testing.T) {
	n, _ := latestMigration(t)
	admin, schema, dsn := probeSchema(t)
	migrated(t, dsn)
	// With one migration embedded, "no migration recorded" is the older
	// schema there is.
	testpg.Exec(t, dsn, "DELETE FROM schema_migrations")
	r, err := probeUnchanged(t, admin, schema, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if r.Version != 0 || r.Pending != n {
		t.Fatalf("Probe = %+v, want version 0 with %d pending", r, n)
	}
}

func TestProbeNewerSchemaRefused(t *testing.T) {
	admin, schema, dsn := probeSchema(t)
	migrated(t, dsn)
	testpg.Exec(t, dsn, "INSERT INTO schema_migrations (version, name) VALUES (9999, '9999_future.sql')")
	_, err := probeUnchanged(t, admin, schema, dsn)
	if !errors.Is(err, store.ErrSchemaTooNew) {
		t.Fatalf("Probe on a newer schema: %v, want ErrSchemaTooNew", err)
	}
	// The same words as serve's refusal.
	_, openErr := Open(t.Context(), dsn, 2)
	if openErr == nil || err.Error() != openErr.Error() {
		t.Errorf("Probe says %q, Open says %q", err, openErr)
	}
}

// TestProbeTakesNoMigrationLock: while another session holds the
// migration lock (an instance migrating), the probe still answers; Open
// would wait for it.
func TestProbeTakesNoMigrationLock(t *testing.T) {
	_, _, dsn := probeSchema(t)
	migrated(t, dsn)
	holder, err := testpg.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(context.WithoutCancel(t.Context()))
	if _, err := holder.Exec(t.Context(), "SELECT pg_advisory_lock($1)", int64(migrationLock)); err != nil {
		t.Fatal(err)
	}
	// The deadline only keeps a probe that waits for the lock from hanging
	// the test; it fails it.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if _, err := Probe(ctx, dsn); err != nil {
		t.Fatalf("Probe while the migration lock is held: %v", err)
	}
}

func TestProbeProblems(t *testing.T) {
	admin := testDSN(t)
	_, err := Probe(t.Context(), testpg.WithSearchPath(t, admin, "sbprobe_no_such_schema", ""))
	if err == nil || !strings.Contains(err.Error(), "no schema") {
		t.Errorf("Probe with a search_path of no existing schema = %v, want an error", err)
	}

	_, err = Probe(t.Context(), "postgres://user:hunter2@[::1:5432/db")
	if err == nil || !strings.Contains(err.Error(), "invalid DSN") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("Probe(malformed) = %v, want an invalid DSN error without the password", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err = Probe(ctx, "postgres://user:hunter2@127.0.0.1:1/db?sslmode=disable&connect_timeout=2&pool_max_conns=3")
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("Probe(unreachable) = %v, want a connection error naming the host and not the password", err)
	}
}
