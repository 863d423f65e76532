package refresh

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"iter"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/bridge/store/postgres"
	"github.com/sessionbridge/sessionbridge/bridge/store/sqlite"
)

// defaultPostgresDSN is the local test database; SESSIONBRIDGE_TEST_POSTGRES
// overrides it (as for the postgres package's tests).
const defaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// postgresDSN returns a DSN whose search_path is a fresh schema, dropped
// when tb ends, or skips tb when no PostgreSQL is reachable.
func postgresDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv("SESSIONBRIDGE_TEST_POSTGRES")
	if dsn == "" {
		dsn = defaultPostgresDSN
	}
	admin := func(stmt string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, stmt)
		return err
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "sbrefresh_" + hex.EncodeToString(b[:])
	if err := admin("CREATE SCHEMA " + schema); err != nil {
		tb.Skipf("PostgreSQL unreachable (set SESSIONBRIDGE_TEST_POSTGRES): %v", err)
	}
	tb.Cleanup(func() {
		if err := admin("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			tb.Errorf("drop schema: %v", err)
		}
	})
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			tb.Fatalf("parse DSN: %v", err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}

func openPostgres(tb testing.TB) store.Store {
	tb.Helper()
	dsn := postgresDSN(tb)
	s, err := postgres.Open(context.Background(), dsn, 16)
	if err != nil {
		tb.Fatalf("postgres.Open: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return &pgStore{Store: s, dsn: dsn}
}

// pgStore remembers its DSN so that benchmarks can bulk-load it.
type pgStore struct {
	*postgres.Store
	dsn string
}

// bulkRow is one session for bulkLoad: only the columns the refresher reads.
type bulkRow struct {
	id, userID           string
	refreshSealed        []byte
	expire, tokenExpiry  time.Time
	refreshAt, createdAt time.Time
}

// bulkLoad inserts rows in one transaction through a prepared insert
// (SQLite) or COPY (PostgreSQL), bypassing the Store: creating a million
// sessions one CreateSession at a time would take the benchmark's whole
// budget. It knows the two schemas' column names.
func bulkLoad(tb testing.TB, st store.Store, rows iter.Seq[bulkRow]) {
	tb.Helper()
	ctx := context.Background()
	switch s := st.(type) {
	case *sqlite.Store:
		db, err := sql.Open("sqlite", s.Path()+"?_busy_timeout=5000&_txlock=immediate")
		if err != nil {
			tb.Fatal(err)
		}
		defer db.Close()
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			tb.Fatal(err)
		}
		ins, err := tx.PrepareContext(ctx, `INSERT INTO sessions (id, user_id, created_at, updated_at, expire,
			provider, provider_uid, refresh_token_sealed, access_token_expiry, refresh_at, version)
			VALUES (?, ?, ?, ?, ?, 'fake', ?, ?, ?, ?, 1)`)
		if err != nil {
			tb.Fatal(err)
		}
		for r := range rows {
			us := func(t time.Time) int64 { return t.UnixMicro() }
			if _, err := ins.ExecContext(ctx, r.id, r.userID, us(r.createdAt), us(r.createdAt), us(r.expire),
				"sub-"+r.id, r.refreshSealed, us(r.tokenExpiry), us(r.refreshAt)); err != nil {
				tb.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			tb.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
			tb.Fatal(err)
		}
	case *pgStore:
		conn, err := pgx.Connect(ctx, s.dsn)
		if err != nil {
			tb.Fatal(err)
		}
		defer conn.Close(ctx)
		next, stop := iter.Pull(rows)
		defer stop()
		src := pgx.CopyFromFunc(func() ([]any, error) {
			r, ok := next()
			if !ok {
				return nil, nil
			}
			return []any{r.id, r.userID, r.createdAt, r.createdAt, r.expire, "fake", "sub-" + r.id,
				r.refreshSealed, r.tokenExpiry, r.refreshAt, int64(1)}, nil
		})
		if _, err := conn.CopyFrom(ctx, pgx.Identifier{"sessions"}, []string{"id", "user_id", "created_at",
			"updated_at", "expire", "provider", "provider_uid", "refresh_token_sealed", "access_token_expiry",
			"refresh_at", "version"}, src); err != nil {
			tb.Fatal(err)
		}
		if _, err := conn.Exec(ctx, "ANALYZE sessions"); err != nil {
			tb.Fatal(err)
		}
	default:
		tb.Fatalf("bulkLoad: unsupported store %T", st)
	}
}
