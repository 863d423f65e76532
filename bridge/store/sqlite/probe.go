package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	"github.com/sessionbridge/sessionbridge/bridge/store/internal/migrations"
)

// ProbeResult is the state Probe found: what Open would start from.
type ProbeResult struct {
	Path    string // the database file
	Exists  bool   // false: Open will create the file
	Version int    // the file's schema version; 0 when it has none
	Pending int    // how many migrations Open would apply
}

// Note tells an operator what Open would change, or "" when nothing.
func (r ProbeResult) Note() string {
	switch {
	case !r.Exists:
		return fmt.Sprintf("sqlite: %s does not exist yet; serve will create it and apply %d migration(s)", r.Path, r.Pending)
	case r.Pending > 0:
		return fmt.Sprintf("sqlite: %s is at schema version %d; serve will apply %d migration(s)", r.Path, r.Version, r.Pending)
	}
	return ""
}

// Probe reports the schema state of the database at dsn without creating,
// migrating or writing anything, so that `sessionbridge check --online` of
// a new binary is safe against a production file. A missing file is not
// an error (Open creates it). Like Open, it fails with
// store.ErrSchemaTooNew when a newer sessionbridge migrated the file.
func Probe(ctx context.Context, dsn string) (ProbeResult, error) {
	path, err := dbPath(dsn)
	if err != nil {
		return ProbeResult{}, err
	}
	all, err := loadMigrations()
	if err != nil {
		return ProbeResult{}, err
	}
	r := ProbeResult{Path: path, Pending: len(all)}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return r, nil
	case err != nil:
		return r, fmt.Errorf("sqlite: %w", err)
	case fi.IsDir():
		return r, fmt.Errorf("sqlite: %s is a directory", path)
	}
	r.Exists = true
	uri, err := readOnlyURI(path)
	if err != nil {
		return r, err
	}
	db, err := sql.Open("sqlite", uri)
	if err != nil {
		return r, fmt.Errorf("sqlite: %w", err)
	}
	defer db.Close()
	if r.Version, err = schemaVersion(ctx, db); err != nil {
		return r, fmt.Errorf("sqlite: read schema version of %s: %w", path, err)
	}
	pending, err := migrations.Pending(all, r.Version)
	if err != nil {
		return r, fmt.Errorf("sqlite: %s has %w", path, err)
	}
	r.Pending = len(pending)
	return r, nil
}

// readOnlyURI is a URI opening path read-only. While a process has the
// database open, its -wal and -shm files exist and a mode=ro connection
// shares them, so it sees migrations still only in the WAL. Otherwise the
// file is opened immutable: a mode=ro connection would create -wal and
// -shm files (owned by whoever runs check) and leave them behind.
// query_only guards against writes either way.
func readOnlyURI(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("sqlite: %w", err)
	}
	q := "mode=ro&_pragma=query_only(1)&_pragma=busy_timeout(5000)"
	if !exists(path+"-wal") || !exists(path+"-shm") {
		q += "&immutable=1"
	}
	return "file://" + (&url.URL{Path: filepath.ToSlash(abs)}).EscapedPath() + "?" + q, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// schemaVersion reads what migrate records, 0 before its first run.
func schemaVersion(ctx context.Context, db *sql.DB) (int, error) {
	var tables int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").Scan(&tables); err != nil {
		return 0, err
	}
	if tables == 0 {
		return 0, nil
	}
	var v int
	err := db.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&v)
	return v, err
}
