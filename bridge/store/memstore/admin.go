package memstore

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// The user administration half of Store, for the conformance suite.

// page applies p to all (every row, in list order: created, then ID),
// keeping the rows keep accepts.
func page[T any](all []T, id func(T) string, text func(T) []string, keep func(T) bool, p store.Page) ([]T, int, error) {
	after := -1
	if p.CursorAfter != "" {
		if after = slices.IndexFunc(all, func(r T) bool { return id(r) == p.CursorAfter }); after < 0 {
			return nil, 0, store.ErrNotFound
		}
	}
	search := strings.ToLower(p.Search)
	total, skip := 0, max(p.Offset, 0)
	var out []T
	for i, r := range all {
		if !keep(r) || (search != "" && !slices.ContainsFunc(text(r), func(s string) bool { return strings.Contains(strings.ToLower(s), search) })) {
			continue
		}
		total++
		switch {
		case i <= after:
		case skip > 0:
			skip--
		case len(out) < p.Limit:
			out = append(out, r)
		}
	}
	if !p.CountTotal {
		total = 0
	}
	return out, total, nil
}

func (m *Store) sortedUsers() []store.User {
	out := make([]store.User, 0, len(m.users))
	for _, u := range m.users {
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b store.User) int { return oldestFirst(a.CreatedAt, a.ID, b.CreatedAt, b.ID) })
	return out
}

func (m *Store) ListUsers(_ context.Context, p store.Page) ([]store.User, int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return page(m.sortedUsers(), func(u store.User) string { return u.ID },
		func(u store.User) []string { return []string{u.ID, u.Name, u.Email} }, func(store.User) bool { return true }, p)
}

func (m *Store) FindIdentities(_ context.Context, f store.IdentityFilter, p store.Page) ([]store.Identity, int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var all []store.Identity
	for _, i := range m.identities {
		all = append(all, i)
	}
	slices.SortFunc(all, func(a, b store.Identity) int { return oldestFirst(a.CreatedAt, a.ID, b.CreatedAt, b.ID) })
	keep := func(i store.Identity) bool {
		return (len(f.UserIDs) == 0 || slices.Contains(f.UserIDs, i.UserID)) &&
			(len(f.Providers) == 0 || slices.Contains(f.Providers, i.Provider))
	}
	return page(all, identityID, identityText, keep, p)
}

func identityID(i store.Identity) string { return i.ID }
func identityText(i store.Identity) []string {
	return []string{i.ID, i.UserID, i.Provider, i.ProviderUID, i.Email}
}

func (m *Store) GetIdentity(_ context.Context, id string) (store.Identity, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, i := range m.identities {
		if i.ID == id {
			return i, nil
		}
	}
	return store.Identity{}, store.ErrNotFound
}

// deleteSessions removes the sessions keep selects; m.mu is held.
func (m *Store) deleteSessions(match func(store.Session) bool) []store.SessionRef {
	var out []store.SessionRef
	for id, s := range m.sessions {
		if match(s) {
			out = append(out, store.SessionRef{ID: id, UserID: s.UserID, Provider: s.Provider})
			delete(m.sessions, id)
		}
	}
	return out
}

func (m *Store) DeleteIdentity(_ context.Context, id string) (store.Identity, []store.SessionRef, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for key, i := range m.identities {
		if i.ID != id {
			continue
		}
		ended := m.deleteSessions(func(s store.Session) bool {
			return s.UserID == i.UserID && s.Provider == i.Provider && s.ProviderUID == i.ProviderUID
		})
		m.tokens = slices.DeleteFunc(m.tokens, func(t store.LoginToken) bool { return t.UserID == i.UserID })
		delete(m.identities, key)
		return i, ended, nil
	}
	return store.Identity{}, nil, store.ErrNotFound
}

func (m *Store) DeleteUser(_ context.Context, id string) ([]store.SessionRef, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.users[id]; !ok {
		return nil, store.ErrNotFound
	}
	ended := m.deleteSessions(func(s store.Session) bool { return s.UserID == id })
	m.tokens = slices.DeleteFunc(m.tokens, func(t store.LoginToken) bool { return t.UserID == id })
	for key, i := range m.identities {
		if i.UserID == id {
			delete(m.identities, key)
		}
	}
	delete(m.users, id)
	return ended, nil
}

// updateUser applies change to a user; m.mu is held by the caller.
func (m *Store) updateUser(id string, now time.Time, change func(*store.User)) (store.User, error) {
	u, ok := m.users[id]
	if !ok {
		return store.User{}, store.ErrNotFound
	}
	change(&u)
	u.UpdatedAt = norm(now)
	m.users[id] = u
	return u, nil
}

func (m *Store) SetUserBlocked(_ context.Context, id string, blocked bool, now time.Time) (store.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, err := m.updateUser(id, now, func(u *store.User) { u.Blocked = blocked })
	if err != nil {
		return u, err
	}
	for sid, s := range m.sessions {
		if s.UserID != id {
			continue
		}
		switch {
		case blocked && !s.RefreshAt.IsZero():
			s.RefreshAt = time.Time{}
		case !blocked && s.RefreshAt.IsZero() && len(s.RefreshTokenSealed) > 0 && !s.AccessTokenExpiry.IsZero():
			s.RefreshAt = norm(now)
		default:
			continue
		}
		s.Version++
		m.sessions[sid] = s
	}
	return u, nil
}

func (m *Store) SetUserPrefs(_ context.Context, id, prefs string, now time.Time) (store.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.updateUser(id, now, func(u *store.User) { u.Prefs = prefs })
}

func (m *Store) SetUserName(_ context.Context, id, name string, now time.Time) (store.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, err := m.updateUser(id, now, func(u *store.User) { u.Name = name })
	if err == nil {
		m.named[id] = true
	}
	return u, err
}
