// Package migrations reads a backend's embedded, versioned schema
// migrations and decides which of them a database still needs. What is
// the same for every SQL backend lives here: the file naming, the order,
// and the refusal to run against a schema newer than the binary. The
// backend keeps what differs: how it serializes concurrent migrators (an
// advisory lock, a write transaction), its schema_migrations DDL, and how
// it runs each migration.
package migrations

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// Migration is one schema change.
type Migration struct {
	Version int    // NNNN of the file name, > 0
	Name    string // the file name, recorded in schema_migrations
	SQL     string
}

// Load returns the migrations in dir of fsys in version order. A file is
// named NNNN_description.sql; NNNN is its version. There must be at least
// one.
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, e := range entries {
		prefix, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(prefix)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %q is not named NNNN_name.sql", e.Name())
		}
		body, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: e.Name(), SQL: string(body)})
	}
	if len(out) == 0 {
		return nil, errors.New("no migrations")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Pending returns the migrations of all (as Load returns them) that a
// database at schema version current still needs, in order. A database
// migrated past the last of all, by a newer binary, is refused with an
// error wrapping store.ErrSchemaTooNew that reads "schema version C,
// this binary knows up to L", for the backend to prefix with what has
// that version.
func Pending(all []Migration, current int) ([]Migration, error) {
	latest := 0
	if len(all) > 0 {
		latest = all[len(all)-1].Version
	}
	if current > latest {
		return nil, fmt.Errorf("schema version %d, this binary knows up to %d: %w",
			current, latest, store.ErrSchemaTooNew)
	}
	i := sort.Search(len(all), func(i int) bool { return all[i].Version > current })
	return all[i:], nil
}
