package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/bridge/store/internal/listsql"
)

const identityCols = "id, user_id, provider, provider_uid, email, created_at, updated_at"

func scanIdentity(r scanner) (store.Identity, error) {
	var (
		i                store.Identity
		created, updated sql.NullInt64
	)
	if err := r.Scan(&i.ID, &i.UserID, &i.Provider, &i.ProviderUID, &i.Email, &created, &updated); err != nil {
		return store.Identity{}, err
	}
	i.CreatedAt, i.UpdatedAt = fromMicros(created), fromMicros(updated)
	return i, nil
}

// list runs the three statements of a paged list (see listsql.Build).
func list[T any](ctx context.Context, db *sql.DB, spec listsql.Spec, p store.Page, scan func(scanner) (T, error)) ([]T, int, error) {
	count, cursor, page := listsql.Build(listsql.SQLite, spec, p)
	if cursor.SQL != "" {
		var one int
		err := db.QueryRowContext(ctx, cursor.SQL, cursor.Args...).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, 0, store.ErrNotFound
		}
		if err != nil {
			return nil, 0, err
		}
	}
	total := 0
	if p.CountTotal {
		if err := db.QueryRowContext(ctx, count.SQL, count.Args...).Scan(&total); err != nil {
			return nil, 0, err
		}
	}
	if p.Limit <= 0 {
		return nil, total, nil
	}
	rows, err := db.QueryContext(ctx, page.SQL, page.Args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, v)
	}
	return out, total, rows.Err()
}

// ListUsers implements store.Users.
func (s *Store) ListUsers(ctx context.Context, p store.Page) ([]store.User, int, error) {
	spec := listsql.Spec{Table: "users", Columns: userCols, SearchIn: []string{"id", "name", "email"}}
	out, total, err := list(ctx, s.db, spec, p, scanUser)
	if err != nil {
		return nil, 0, wrap("list users", err)
	}
	return out, total, nil
}

// FindIdentities implements store.Users.
func (s *Store) FindIdentities(ctx context.Context, f store.IdentityFilter, p store.Page) ([]store.Identity, int, error) {
	spec := listsql.Spec{Table: "identities", Columns: identityCols,
		SearchIn: []string{"id", "user_id", "provider", "provider_uid", "email"},
		Filters:  []listsql.Filter{{Column: "user_id", Values: f.UserIDs}, {Column: "provider", Values: f.Providers}}}
	out, total, err := list(ctx, s.db, spec, p, scanIdentity)
	if err != nil {
		return nil, 0, wrap("find identities", err)
	}
	return out, total, nil
}

// GetIdentity implements store.Users.
func (s *Store) GetIdentity(ctx context.Context, id string) (store.Identity, error) {
	i, err := scanIdentity(s.db.QueryRowContext(ctx, "SELECT "+identityCols+" FROM identities WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Identity{}, store.ErrNotFound
	}
	if err != nil {
		return store.Identity{}, wrap("get identity", err)
	}
	return i, nil
}

// deleteSessionsWhere removes the sessions a condition selects inside tx
// and returns them.
func deleteSessionsWhere(ctx context.Context, tx *sql.Tx, cond string, args ...any) ([]store.SessionRef, error) {
	rows, err := tx.QueryContext(ctx, "DELETE FROM sessions WHERE "+cond+" RETURNING id, user_id, provider", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.SessionRef
	for rows.Next() {
		var r store.SessionRef
		if err := rows.Scan(&r.ID, &r.UserID, &r.Provider); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// DeleteIdentity implements store.Users.
func (s *Store) DeleteIdentity(ctx context.Context, id string) (store.Identity, []store.SessionRef, error) {
	var (
		ident store.Identity
		ended []store.SessionRef
	)
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		ident, err = scanIdentity(tx.QueryRowContext(ctx, "SELECT "+identityCols+" FROM identities WHERE id = ?", id))
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		ended, err = deleteSessionsWhere(ctx, tx, "user_id = ? AND provider = ? AND provider_uid = ?",
			ident.UserID, ident.Provider, ident.ProviderUID)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM login_tokens WHERE user_id = ?", ident.UserID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM identities WHERE id = ?", id)
		return err
	})
	if err != nil {
		return store.Identity{}, nil, wrap("delete identity", err)
	}
	return ident, ended, nil
}

// DeleteUser implements store.Users.
func (s *Store) DeleteUser(ctx context.Context, id string) ([]store.SessionRef, error) {
	var ended []store.SessionRef
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		if ended, err = deleteSessionsWhere(ctx, tx, "user_id = ?", id); err != nil {
			return err
		}
		for _, q := range []string{"DELETE FROM login_tokens WHERE user_id = ?", "DELETE FROM identities WHERE user_id = ?"} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return err
			}
		}
		n, err := rowsAffected(tx.ExecContext(ctx, "DELETE FROM users WHERE id = ?", id))
		if err == nil && n == 0 {
			return store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return nil, wrap("delete user", err)
	}
	return ended, nil
}

// updateUser runs an UPDATE of one users row, plus more statements, in
// one transaction and returns the row as written.
func (s *Store) updateUser(ctx context.Context, op, id, set string, args []any, more func(tx *sql.Tx) error) (store.User, error) {
	var u store.User
	err := s.write(ctx, func(tx *sql.Tx) error {
		n, err := rowsAffected(tx.ExecContext(ctx, "UPDATE users SET "+set+" WHERE id = ?", append(args, id)...))
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		if more != nil {
			if err := more(tx); err != nil {
				return err
			}
		}
		u, err = scanUser(tx.QueryRowContext(ctx, "SELECT "+userCols+" FROM users WHERE id = ?", id))
		return err
	})
	if err != nil {
		return store.User{}, wrap(op, err)
	}
	return u, nil
}

// SetUserBlocked implements store.Users.
func (s *Store) SetUserBlocked(ctx context.Context, id string, blocked bool, now time.Time) (store.User, error) {
	return s.updateUser(ctx, "set user status", id, "status = ?, updated_at = ?", []any{!blocked, micros(now)},
		func(tx *sql.Tx) error {
			if blocked {
				_, err := tx.ExecContext(ctx, `UPDATE sessions SET refresh_at = NULL, version = version + 1
					WHERE user_id = ? AND refresh_at IS NOT NULL`, id)
				return err
			}
			_, err := tx.ExecContext(ctx, `UPDATE sessions SET refresh_at = ?, version = version + 1
				WHERE user_id = ? AND refresh_at IS NULL AND length(refresh_token_sealed) > 0
				AND access_token_expiry IS NOT NULL`, micros(now), id)
			return err
		})
}

// SetUserPrefs implements store.Users.
func (s *Store) SetUserPrefs(ctx context.Context, id, prefs string, now time.Time) (store.User, error) {
	return s.updateUser(ctx, "set user prefs", id, "prefs = ?, updated_at = ?", []any{prefs, micros(now)}, nil)
}

// SetUserName implements store.Users.
func (s *Store) SetUserName(ctx context.Context, id, name string, now time.Time) (store.User, error) {
	return s.updateUser(ctx, "set user name", id, "name = ?, name_custom = 1, updated_at = ?", []any{name, micros(now)}, nil)
}
