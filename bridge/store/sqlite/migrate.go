package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"

	"github.com/sessionbridge/sessionbridge/bridge/store/internal/migrations"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// loadMigrations returns the embedded migrations in version order.
func loadMigrations() ([]migrations.Migration, error) {
	all, err := migrations.Load(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return all, nil
}

// migrate applies the pending migrations in one BEGIN IMMEDIATE
// transaction. Processes starting at once serialize on the write lock;
// the later ones find the work done. SQLite's DDL is transactional, so a
// failure leaves the schema as it was.
func (s *Store) migrate(ctx context.Context) error {
	all, err := loadMigrations()
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000000 AS INTEGER))
		) STRICT`); err != nil {
			return fmt.Errorf("sqlite: create schema_migrations: %w", err)
		}
		var current int
		if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&current); err != nil {
			return fmt.Errorf("sqlite: read schema version: %w", err)
		}
		pending, err := migrations.Pending(all, current)
		if err != nil {
			return fmt.Errorf("sqlite: %s has %w", s.path, err)
		}
		for _, m := range pending {
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", m.Version, m.Name); err != nil {
				return fmt.Errorf("sqlite: record migration %s: %w", m.Name, err)
			}
		}
		return nil
	})
}
