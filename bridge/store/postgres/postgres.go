// Package postgres is the store.Store backend on PostgreSQL (jackc/pgx/v5),
// for deployments with several bridge instances.
//
// Concurrency comes from the database: grant claims lock rows with
// FOR UPDATE SKIP LOCKED, so concurrent refreshers take disjoint sets;
// single-use rows are consumed with DELETE ... RETURNING, which at most one
// transaction wins; compare-and-swap is an UPDATE conditioned on the
// version. Times are timestamptz (microseconds, store.Precision) and are
// returned in UTC; NULL stands for the zero time.
//
// Leases are compared with the caller's clock, not the database's: the
// `now` given to ClaimDueGrants and ClaimGrant is both the lease's start
// and the time other leases are checked against. Instances on different
// hosts must keep their clocks synchronized (NTP); the refresher keeps
// 10s of every lease for the write after its token request, which is
// also the skew it tolerates. (Using now() of the database would remove
// that assumption but also the injected clock every test relies on.)
//
// The tables live in the first schema of the connection's search_path, so
// several deployments (or tests) can share a database with
// "?search_path=name" in the DSN.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// Store is a store.Store on a PostgreSQL connection pool.
type Store struct {
	pool *pgxpool.Pool
	cas  casQueue
	// logins is group commit for the logins of known users.
	logins loginQueue
	// writes is the pool's tracer (store.Changes.LocalWrites).
	writes *writeCounter
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at dsn (a postgres:// URL or key=value
// string) and migrates it. maxConns > 0 caps the pool; otherwise the
// DSN's pool_max_conns or pgx's default applies. Open fails with
// store.ErrSchemaTooNew when a newer sessionbridge migrated the schema.
func Open(ctx context.Context, dsn string, maxConns int) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx redacts the password from its parse errors.
		return nil, fmt.Errorf("postgres: invalid DSN: %w", err)
	}
	if maxConns > 0 {
		cfg.MaxConns = int32(min(maxConns, math.MaxInt32))
	}
	writes := &writeCounter{}
	cfg.ConnConfig.Tracer = writes
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &Store{pool: pool, writes: writes}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, connectError(cfg.ConnConfig, err)
	}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// connectError names where a connection was tried, never the password.
func connectError(cc *pgx.ConnConfig, err error) error {
	return fmt.Errorf("postgres: connect to %s:%d database %q as %q: %w", cc.Host, cc.Port, cc.Database, cc.User, err)
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Close closes the pool, waiting for borrowed connections to return.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// wrap prefixes unexpected errors and returns the store's sentinel errors
// bare, so that messages stay short where callers branch on them.
func wrap(op string, err error) error {
	for _, sentinel := range []error{store.ErrNotFound, store.ErrConflict, store.ErrLeased} {
		if errors.Is(err, sentinel) {
			return err
		}
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}
