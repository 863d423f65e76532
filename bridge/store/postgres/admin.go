package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/bridge/store/internal/listsql"
)

const identityCols = "id, user_id, provider, provider_uid, email, created_at, updated_at"

func scanIdentity(r pgx.Row) (store.Identity, error) {
	var (
		i                store.Identity
		created, updated pgtype.Timestamptz
	)
	if err := r.Scan(&i.ID, &i.UserID, &i.Provider, &i.ProviderUID, &i.Email, &created, &updated); err != nil {
		return store.Identity{}, err
	}
	i.CreatedAt, i.UpdatedAt = fromTS(created), fromTS(updated)
	return i, nil
}

// list runs the three statements of a paged list (see listsql.Build).
func list[T any](ctx context.Context, s *Store, spec listsql.Spec, p store.Page, scan func(pgx.Row) (T, error)) ([]T, int, error) {
	count, cursor, page := listsql.Build(listsql.Postgres, spec, p)
	if cursor.SQL != "" {
		var one int
		err := s.pool.QueryRow(ctx, cursor.SQL, cursor.Args...).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, 0, store.ErrNotFound
		}
		if err != nil {
			return nil, 0, err
		}
	}
	total := 0
	if p.CountTotal {
		if err := s.pool.QueryRow(ctx, count.SQL, count.Args...).Scan(&total); err != nil {
			return nil, 0, err
		}
	}
	if p.Limit <= 0 {
		return nil, total, nil
	}
	rows, err := s.pool.Query(ctx, page.SQL, page.Args...)
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
	out, total, err := list(ctx, s, spec, p, scanUser)
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
	out, total, err := list(ctx, s, spec, p, scanIdentity)
	if err != nil {
		return nil, 0, wrap("find identities", err)
	}
	return out, total, nil
}

// GetIdentity implements store.Users.
func (s *Store) GetIdentity(ctx context.Context, id string) (store.Identity, error) {
	i, err := scanIdentity(s.pool.QueryRow(ctx, "SELECT "+identityCols+" FROM identities WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Identity{}, store.ErrNotFound
	}
	if err != nil {
		return store.Identity{}, wrap("get identity", err)
	}
	return i, nil
}

// deleteSessionsWhere removes the sessions a condition selects inside tx
// and returns them.
func deleteSessionsWhere(ctx context.Context, tx pgx.Tx, cond string, args ...any) ([]store.SessionRef, error) {
	rows, err := tx.Query(ctx, "DELETE FROM sessions WHERE "+cond+" RETURNING id, user_id, provider", args...)
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
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		ident, err = scanIdentity(tx.QueryRow(ctx, "SELECT "+identityCols+" FROM identities WHERE id = $1 FOR UPDATE", id))
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		ended, err = deleteSessionsWhere(ctx, tx, "user_id = $1 AND provider = $2 AND provider_uid = $3",
			ident.UserID, ident.Provider, ident.ProviderUID)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM login_tokens WHERE user_id = $1", ident.UserID); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "DELETE FROM identities WHERE id = $1", id)
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
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Lock the user first: a concurrent login for this user then waits
		// and finds no user, instead of adding a session we would miss.
		var one int
		err := tx.QueryRow(ctx, "SELECT 1 FROM users WHERE id = $1 FOR UPDATE", id).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		if ended, err = deleteSessionsWhere(ctx, tx, "user_id = $1", id); err != nil {
			return err
		}
		for _, q := range []string{"DELETE FROM login_tokens WHERE user_id = $1", "DELETE FROM identities WHERE user_id = $1", "DELETE FROM users WHERE id = $1"} {
			if _, err := tx.Exec(ctx, q, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrap("delete user", err)
	}
	return ended, nil
}

// updateUser runs an UPDATE of one users row, plus more statements, in
// one transaction and returns the row as written. set's placeholders
// start at $2; $1 is the user ID.
func (s *Store) updateUser(ctx context.Context, op, id, set string, args []any, more func(tx pgx.Tx) error) (store.User, error) {
	var u store.User
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "UPDATE users SET "+set+" WHERE id = $1", append([]any{id}, args...)...)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return store.ErrNotFound
		}
		if more != nil {
			if err := more(tx); err != nil {
				return err
			}
		}
		u, err = scanUser(tx.QueryRow(ctx, "SELECT "+userCols+" FROM users WHERE id = $1", id))
		return err
	})
	if err != nil {
		return store.User{}, wrap(op, err)
	}
	return u, nil
}

// SetUserBlocked implements store.Users.
func (s *Store) SetUserBlocked(ctx context.Context, id string, blocked bool, now time.Time) (store.User, error) {
	return s.updateUser(ctx, "set user status", id, "status = $2, updated_at = $3", []any{!blocked, ts(now)},
		func(tx pgx.Tx) error {
			if blocked {
				_, err := tx.Exec(ctx, `UPDATE sessions SET refresh_at = NULL, version = version + 1
					WHERE user_id = $1 AND refresh_at IS NOT NULL`, id)
				return err
			}
			_, err := tx.Exec(ctx, `UPDATE sessions SET refresh_at = $2, version = version + 1
				WHERE user_id = $1 AND refresh_at IS NULL AND length(refresh_token_sealed) > 0
				AND access_token_expiry IS NOT NULL`, id, ts(now))
			return err
		})
}

// SetUserPrefs implements store.Users.
func (s *Store) SetUserPrefs(ctx context.Context, id, prefs string, now time.Time) (store.User, error) {
	return s.updateUser(ctx, "set user prefs", id, "prefs = $2, updated_at = $3", []any{prefs, ts(now)}, nil)
}

// SetUserName implements store.Users.
func (s *Store) SetUserName(ctx context.Context, id, name string, now time.Time) (store.User, error) {
	return s.updateUser(ctx, "set user name", id, "name = $2, name_custom = true, updated_at = $3", []any{name, ts(now)}, nil)
}
