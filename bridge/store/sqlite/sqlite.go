// Package sqlite is the embedded store.Store backend, on the pure-Go
// modernc.org/sqlite driver, for single-host deployments and development.
//
// Several processes may share one database file (serve and a separate
// refresh daemon): every guarantee of store.Store comes from SQLite's
// locking, never from in-process state. Writes run in BEGIN IMMEDIATE
// transactions, which take the database's single write lock up front, so
// a read-then-write (a claim, a consume, an upsert) cannot interleave
// with another process's. The in-process mutex only spares goroutines of
// one process from spinning in SQLite's busy handler against each other.
//
// Leases are compared with the `now` the caller passes; processes sharing
// a file share the host's clock.
//
// Times are stored as INTEGER Unix microseconds (store.Precision) and
// returned in UTC; NULL stands for the zero time.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"

	"modernc.org/sqlite" // registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"
)

// params are applied by the driver to every pooled connection: pragmas
// set with PRAGMA statements would reach only the one connection that ran
// them. _txlock=immediate makes every BeginTx a BEGIN IMMEDIATE.
const params = "?_busy_timeout=5000&_journal_mode=WAL&_foreign_keys=1&_synchronous=NORMAL&_txlock=immediate"

// Store is a store.Store on one SQLite database file.
type Store struct {
	db   *sql.DB
	path string
	// wmu serializes this process's writers (see the package comment).
	wmu sync.Mutex
	// Hot statements are prepared once (database/sql then keeps one
	// compiled copy per pooled connection): in the pure-Go driver,
	// compiling a statement costs more than running it, and it dominated
	// the refresher's CPU profile when done on every compare-and-swap.
	stmts statements
	cas   casQueue
	// logins is group commit for the login path's writes (loginwrites.go).
	logins loginQueue
	// writes counts completed writes (store.Changes.LocalWrites); every
	// write holds the writer mutex through lockWriter.
	writes atomic.Uint64
}

// statements are the prepared hot statements; see prepare.
type statements struct {
	getSession, getUser, nextRefresh, countDue, sessionExists *sql.Stmt
	insertSession, deleteSession, casSession                  *sql.Stmt
	dueIDs, claim, claimGrant                                 *sql.Stmt
	changes                                                   *sql.Stmt
	// A login's statements (see login.go).
	createFlow, consumeFlow, rebindFlow      *sql.Stmt
	findIdentity, insertUser, insertIdentity *sql.Stmt
	updateIdentity, updateUser, overCap      *sql.Stmt
	// The savepoints of a grouped login write (see loginwrites.go).
	savepoint, releaseSavepoint, rollbackToSavepoint *sql.Stmt
}

// maxIdleConns keeps enough connections (each with its compiled
// statements and schema cache) for concurrent readers; database/sql's
// default of 2 closes and reopens connections under load.
const maxIdleConns = 16

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database at dsn, a file path
// optionally prefixed with "file:", and migrates it. The parent directory
// is created 0700 and the database files are kept 0600: they hold sealed
// tokens and session hashes. Open fails with store.ErrSchemaTooNew when
// a newer sessionbridge has migrated the file.
func Open(ctx context.Context, dsn string) (*Store, error) {
	path, err := dbPath(dsn)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: create database directory: %w", err)
	}
	// Create the file ourselves so it never exists with the umask's mode;
	// SQLite gives -wal and -shm the database file's permissions.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open database file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("sqlite: open database file: %w", err)
	}
	db, err := sql.Open("sqlite", path+params)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	db.SetMaxIdleConns(maxIdleConns)
	s := &Store{db: db, path: path}
	s.cas.Linger = casLinger
	if err := s.init(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// dbPath returns the file path of dsn, refusing what Open cannot serve.
func dbPath(dsn string) (string, error) {
	path := strings.TrimPrefix(dsn, "file:")
	switch {
	case path == "":
		return "", errors.New("sqlite: empty database path")
	case strings.ContainsRune(path, '?'):
		return "", fmt.Errorf("sqlite: database path %q must be a plain file path without '?' options", path)
	case strings.HasPrefix(path, ":memory:"):
		return "", errors.New("sqlite: in-memory databases are not supported; give a file path")
	}
	return path, nil
}

func (s *Store) init(ctx context.Context) error {
	if err := s.connect(ctx); err != nil {
		return fmt.Errorf("sqlite: open %s: %w", s.path, err)
	}
	if err := s.migrate(ctx); err != nil {
		return err
	}
	if err := s.prepare(ctx); err != nil {
		return err
	}
	// Files that existed before (or that an older version created) are
	// tightened too.
	for _, p := range []string{s.path, s.path + "-wal", s.path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("sqlite: restrict permissions of %s: %w", p, err)
		}
	}
	return nil
}

// connect opens the first connection. Switching a new file to WAL needs
// an exclusive lock, and SQLite reports SQLITE_BUSY at once, without its
// busy handler, when processes starting together convert the file at the
// same moment. Retrying for about the busy timeout resolves that race;
// once the file is in WAL mode new connections do not need the lock.
func (s *Store) connect(ctx context.Context) error {
	const attempts, pause = 250, 20 * time.Millisecond
	for i := 0; ; i++ {
		err := s.db.PingContext(ctx)
		var se *sqlite.Error
		if err == nil || i == attempts || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
	}
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// Ping reports whether the database answers a query.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// prepare compiles the hot statements.
func (s *Store) prepare(ctx context.Context) error {
	for _, p := range s.stmts.all() {
		stmt, err := s.db.PrepareContext(ctx, p.sql)
		if err != nil {
			return fmt.Errorf("sqlite: prepare: %w", err)
		}
		*p.stmt = stmt
	}
	return nil
}

func (st *statements) all() []struct {
	stmt **sql.Stmt
	sql  string
} {
	return []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&st.getSession, "SELECT " + sessionCols + " FROM sessions WHERE id = ?"},
		{&st.getUser, "SELECT " + userCols + " FROM users WHERE id = ?"},
		{&st.nextRefresh, nextQuery},
		{&st.countDue, countQuery},
		{&st.sessionExists, "SELECT 1 FROM sessions WHERE id = ?"},
		{&st.insertSession, insertSessionQuery},
		{&st.deleteSession, "DELETE FROM sessions WHERE id = ?"},
		{&st.casSession, casQuery},
		{&st.dueIDs, dueQuery},
		{&st.claim, claimQuery},
		{&st.claimGrant, claimGrantQuery},
		{&st.changes, "SELECT seq, kind, id FROM changes WHERE seq >= ? ORDER BY seq LIMIT ?"},
		{&st.createFlow, createFlowQuery},
		{&st.consumeFlow, consumeFlowQuery},
		{&st.rebindFlow, rebindFlowQuery},
		{&st.findIdentity, findIdentityQuery},
		{&st.insertUser, insertUserQuery},
		{&st.insertIdentity, insertIdentityQuery},
		{&st.updateIdentity, updateIdentityQuery},
		{&st.updateUser, updateUserQuery},
		{&st.overCap, overCapQuery},
		{&st.savepoint, "SAVEPOINT login_write"},
		{&st.releaseSavepoint, "RELEASE login_write"},
		{&st.rollbackToSavepoint, "ROLLBACK TO login_write"},
	}
}

// Close closes the database.
func (s *Store) Close() error {
	for _, p := range s.stmts.all() {
		if *p.stmt != nil {
			_ = (*p.stmt).Close()
		}
	}
	return s.db.Close()
}

// lockWriter takes the process's writer mutex; the returned func releases
// it and counts the write (LocalWrites). Every write holds it.
func (s *Store) lockWriter() (unlock func()) {
	s.wmu.Lock()
	return func() {
		s.writes.Add(1)
		s.wmu.Unlock()
	}
}

// write runs fn in a BEGIN IMMEDIATE transaction, holding the process's
// writer mutex, and commits when fn returns nil.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	defer s.lockWriter()()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// exec runs one autocommit write statement under the writer mutex and
// returns the number of rows it changed.
func (s *Store) exec(ctx context.Context, query string, args ...any) (int, error) {
	defer s.lockWriter()()
	return rowsAffected(s.db.ExecContext(ctx, query, args...))
}

// execStmt is exec with a prepared statement.
func (s *Store) execStmt(ctx context.Context, stmt *sql.Stmt, args ...any) (int, error) {
	defer s.lockWriter()()
	return rowsAffected(stmt.ExecContext(ctx, args...))
}

func rowsAffected(res sql.Result, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
