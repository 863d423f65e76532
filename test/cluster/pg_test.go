package cluster

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
)

const defaultPGDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// pgDSN returns the database the tests may use: $SESSIONBRIDGE_TEST_POSTGRES,
// or the local default. An unreachable database skips the test on a
// developer's machine, but fails it in CI (CI=true) or when the variable
// was set explicitly, so CI cannot pass without having run it.
func pgDSN(t testing.TB) string {
	t.Helper()
	dsn, explicit := os.Getenv("SESSIONBRIDGE_TEST_POSTGRES"), true
	if dsn == "" {
		dsn, explicit = defaultPGDSN, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := pgConnect(ctx, dsn)
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

// pgConnect connects, waiting while the server has no connection slot
// free (SQLSTATE 53300): other test packages may share the server.
func pgConnect(ctx context.Context, dsn string) (*pgx.Conn, error) {
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

// pgExec runs statements as the test's (administrative) role.
func pgExec(t testing.TB, dsn string, stmts ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := pgConnect(ctx, dsn)
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

// freshSchema creates an empty schema, dropped when the test ends, and
// returns its name.
func freshSchema(t testing.TB, dsn string) string {
	t.Helper()
	schema := "sbcluster_" + randomHex(6)
	pgExec(t, dsn, "CREATE SCHEMA "+schema)
	t.Cleanup(func() { pgExec(t, dsn, "DROP SCHEMA "+schema+" CASCADE") })
	return schema
}

// withSearchPath returns dsn pointing at schema and, when user is set,
// connecting as that role.
func withSearchPath(t testing.TB, dsn, schema, user string) string {
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
