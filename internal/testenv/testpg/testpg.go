// Package testpg gives tests a PostgreSQL database: the DSN to use (skip on
// a developer's machine without PostgreSQL, fail in CI) and a fresh schema
// per test, so tests can run in parallel on one database.
//
// It is imported by _test.go files only; nothing in the product uses it.
package testpg

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sessionbridge/sessionbridge/internal/testenv"
)

// DefaultDSN is the local test database used when
// $SESSIONBRIDGE_TEST_POSTGRES is not set.
const DefaultDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// DSN returns the database the tests may use: $SESSIONBRIDGE_TEST_POSTGRES,
// or DefaultDSN. An unreachable database skips the test on a developer's
// machine, but fails it in CI (CI=true) or when the variable was set
// explicitly, so CI cannot pass without having run it.
func DSN(t testing.TB) string {
	t.Helper()
	dsn, explicit := os.Getenv("SESSIONBRIDGE_TEST_POSTGRES"), true
	if dsn == "" {
		dsn, explicit = DefaultDSN, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := Connect(ctx, dsn)
	if err == nil {
		err = conn.Ping(ctx)
		_ = conn.Close(ctx)
	}
	if err != nil {
		msg := fmt.Sprintf("PostgreSQL for tests unreachable (set SESSIONBRIDGE_TEST_POSTGRES): %v", err)
		if explicit || testenv.InCI() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dsn
}

// Connect connects, waiting while the server has no connection slot free
// (SQLSTATE 53300): other test packages may share the server.
func Connect(ctx context.Context, dsn string) (*pgx.Conn, error) {
	for {
		conn, err := pgx.Connect(ctx, dsn)
		var pe *pgconn.PgError
		if err == nil || !errors.As(err, &pe) || pe.Code != "53300" {
			return conn, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Exec runs statements on one connection as the DSN's (administrative)
// role, failing the test on the first error.
func Exec(t testing.TB, dsn string, stmts ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	for _, sql := range stmts {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
}

// FreshSchema creates an empty schema named prefix plus random hex, drops it
// (with everything in it) when the test ends, and returns its name.
func FreshSchema(t testing.TB, dsn, prefix string) string {
	t.Helper()
	schema := prefix + testenv.RandomHex(6)
	Exec(t, dsn, "CREATE SCHEMA "+schema)
	t.Cleanup(func() { Exec(t, dsn, "DROP SCHEMA "+schema+" CASCADE") })
	return schema
}

// FreshDSN is dsn with its search_path on a FreshSchema.
func FreshDSN(t testing.TB, dsn, prefix string) string {
	t.Helper()
	return WithSearchPath(t, dsn, FreshSchema(t, dsn, prefix), "")
}

// WithSearchPath returns dsn (URL or key=value form) pointing at schema and,
// when user is set, connecting as that role.
func WithSearchPath(t testing.TB, dsn, schema, user string) string {
	t.Helper()
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		s := dsn + " search_path=" + schema
		if user != "" {
			s += " user=" + user
		}
		return s
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("parse DSN: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	if user != "" {
		if p, ok := u.User.Password(); ok {
			u.User = url.UserPassword(user, p)
		} else {
			u.User = url.User(user)
		}
	}
	return u.String()
}
