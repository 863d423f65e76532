package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionbridge/sessionbridge/bridge/store/internal/migrations"
)

// ProbeResult is the state Probe found: what Open would start from.
type ProbeResult struct {
	Schema  string // where the tables are (or will be): the search_path's first schema
	Version int    // the schema version; 0 before the first migration
	Pending int    // how many migrations Open would apply
}

// Note tells an operator what Open would change, or "" when nothing.
func (r ProbeResult) Note() string {
	switch {
	case r.Pending == 0:
		return ""
	case r.Version == 0:
		return fmt.Sprintf("postgres: schema %q has no sessionbridge tables yet; serve will apply %d migration(s)", r.Schema, r.Pending)
	}
	return fmt.Sprintf("postgres: schema %q is at version %d; serve will apply %d migration(s)", r.Schema, r.Version, r.Pending)
}

// Probe connects to the database at dsn and reports its schema state in a
// read-only transaction, without the migration lock and without creating
// anything, so that `sessionbridge check --online` of a new binary is safe
// against a production database. Like Open, it fails with
// store.ErrSchemaTooNew when a newer sessionbridge migrated the schema.
func Probe(ctx context.Context, dsn string) (ProbeResult, error) {
	all, err := loadMigrations()
	if err != nil {
		return ProbeResult{}, err
	}
	// The pool's parser, so that a DSN with pool_max_conns parses as for Open.
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx redacts the password from its parse errors.
		return ProbeResult{}, fmt.Errorf("postgres: invalid DSN: %w", err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		return ProbeResult{}, connectError(cfg.ConnConfig, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var r ProbeResult
	err = pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var schema *string
		var hasTable bool
		// migrate creates schema_migrations in current_schema().
		if err := tx.QueryRow(ctx, `SELECT current_schema(), EXISTS (
			SELECT 1 FROM pg_catalog.pg_tables
			WHERE schemaname = current_schema() AND tablename = 'schema_migrations')`).Scan(&schema, &hasTable); err != nil {
			return err
		}
		if schema == nil {
			return errors.New("no schema of the search_path exists to create the tables in")
		}
		r.Schema = *schema
		if !hasTable {
			return nil
		}
		table := pgx.Identifier{r.Schema, "schema_migrations"}.Sanitize()
		return tx.QueryRow(ctx, "SELECT COALESCE(MAX(version), 0) FROM "+table).Scan(&r.Version)
	})
	if err != nil {
		return r, fmt.Errorf("postgres: read schema version: %w", err)
	}
	pending, err := migrations.Pending(all, r.Version)
	if err != nil {
		return r, fmt.Errorf("postgres: database has %w", err)
	}
	r.Pending = len(pending)
	return r, nil
}
