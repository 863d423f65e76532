// Package memstore is an in-memory store.Store for tests: the domain,
// refresher and HTTP tests run against it instead of a database file. It
// passes the same storetest conformance suite as SQLite and PostgreSQL, so a
// test that passes here exercises the semantics the real backends promise.
// It keeps everything in maps behind one mutex and is not meant for
// production.
package memstore

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// Store is an in-memory store.Store with the lease and compare-and-swap
// semantics store.go documents (checked by the storetest conformance
// suite in memstore_test.go). Times are normalized as the SQL
// backends keep them.
type Store struct {
	mu         sync.Mutex
	users      map[string]store.User
	identities map[string]store.Identity // key: provider + "\x00" + uid
	sessions   map[string]store.Session
	flows      map[string]store.LoginFlow
	tokens     []store.LoginToken
	writes     int             // successful CompareAndSwapSession calls
	named      map[string]bool // users whose name was set by SetUserName
	jtis       map[string]time.Time
	chores     map[string]time.Time
	changes    []memChange
	written    uint64 // every write (LocalWrites)
}

// New returns an empty store.
func New() *Store {
	return &Store{
		users: map[string]store.User{}, identities: map[string]store.Identity{},
		sessions: map[string]store.Session{}, flows: map[string]store.LoginFlow{}, named: map[string]bool{},
	}
}

var _ store.Store = (*Store)(nil)

func norm(t time.Time) time.Time { return store.Normalize(t) }

func copySession(s store.Session) store.Session {
	s.SecretHash = slices.Clone(s.SecretHash)
	s.AccessTokenSealed = slices.Clone(s.AccessTokenSealed)
	s.RefreshTokenSealed = slices.Clone(s.RefreshTokenSealed)
	s.IDTokenSealed = slices.Clone(s.IDTokenSealed)
	for _, t := range []*time.Time{&s.CreatedAt, &s.UpdatedAt, &s.Expire, &s.AccessTokenExpiry, &s.RefreshAt, &s.LeaseUntil, &s.RefreshedAt} {
		*t = norm(*t)
	}
	return s
}

// oldestFirst orders records by creation time, the ID breaking ties:
// the order in which the store lists sessions, users and identities.
func oldestFirst(aCreated time.Time, aID string, bCreated time.Time, bID string) int {
	if c := aCreated.Compare(bCreated); c != 0 {
		return c
	}
	return strings.Compare(aID, bID)
}

// sessionsWhere returns copies of the sessions keep accepts, oldest
// first. The caller holds m.mu.
func (m *Store) sessionsWhere(keep func(store.Session) bool) []store.Session {
	out := []store.Session{}
	for _, s := range m.sessions {
		if keep(s) {
			out = append(out, copySession(s))
		}
	}
	slices.SortFunc(out, func(a, b store.Session) int { return oldestFirst(a.CreatedAt, a.ID, b.CreatedAt, b.ID) })
	return out
}

func (m *Store) Ping(context.Context) error { return nil }
func (m *Store) Close() error               { return nil }

func (m *Store) UpsertIdentity(_ context.Context, in store.IdentityInput, now time.Time) (store.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now = norm(now)
	key := in.Provider + "\x00" + in.ProviderUID
	old := in.Provider + "\x00" + in.PreviousProviderUID
	if _, has := m.identities[key]; !has && in.PreviousProviderUID != "" {
		if prev, ok := m.identities[old]; ok {
			prev.ProviderUID = in.ProviderUID
			m.identities[key] = prev
			delete(m.identities, old)
		}
	}
	id, ok := m.identities[key]
	var u store.User
	if ok {
		u = m.users[id.UserID]
	} else {
		u = store.User{ID: store.NewID(), CreatedAt: now}
		id = store.Identity{ID: store.NewID(), UserID: u.ID, Provider: in.Provider, ProviderUID: in.ProviderUID, CreatedAt: now}
	}
	if in.Email != "" {
		u.Email, u.EmailVerified, id.Email = in.Email, in.EmailVerified, in.Email
	}
	if in.Name != "" && !m.named[u.ID] {
		u.Name = in.Name
	}
	if ok {
		m.changed("u", u.ID)
	}
	u.UpdatedAt, u.AccessedAt, id.UpdatedAt = now, now, now
	m.users[u.ID] = u
	m.identities[key] = id
	return u, nil
}

func (m *Store) GetUser(_ context.Context, id string) (store.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return store.User{}, store.ErrNotFound
	}
	return u, nil
}

func (m *Store) ListIdentities(_ context.Context, userID string) ([]store.Identity, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []store.Identity{}
	for _, id := range m.identities {
		if id.UserID == userID {
			out = append(out, id)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}

func (m *Store) TouchUser(_ context.Context, id string, now time.Time, every time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return store.ErrNotFound
	}
	if u.AccessedAt.After(now.Add(-every)) {
		return nil
	}
	u.AccessedAt = norm(now)
	m.users[id] = u
	return nil
}

func (m *Store) CreateSession(_ context.Context, s *store.Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.written++
	if _, dup := m.sessions[s.ID]; dup {
		return store.ErrConflict
	}
	s.Version = 1
	m.sessions[s.ID] = copySession(*s)
	return nil
}

func (m *Store) GetSession(_ context.Context, id string) (store.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	if !ok {
		return store.Session{}, store.ErrNotFound
	}
	return copySession(s), nil
}

func (m *Store) ListSessions(_ context.Context, userID string) ([]store.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sessionsWhere(func(s store.Session) bool { return s.UserID == userID }), nil
}

func (m *Store) DeleteSession(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.sessions[id]; !ok {
		return store.ErrNotFound
	}
	delete(m.sessions, id)
	m.changed("s", id)
	return nil
}

func (m *Store) DeleteUserSessions(_ context.Context, userID string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for id, s := range m.sessions {
		if s.UserID == userID {
			delete(m.sessions, id)
			m.changed("s", id)
			n++
		}
	}
	return n, nil
}

func (m *Store) CompareAndSwapSession(_ context.Context, s *store.Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.sessions[s.ID]
	if !ok {
		return store.ErrNotFound
	}
	if cur.Version != s.Version {
		return store.ErrConflict
	}
	n := copySession(*s)
	if visibleChange(cur, n) {
		m.changed("s", s.ID)
	}
	// Only the mutable fields are written.
	cur.Expire, cur.UpdatedAt = n.Expire, n.UpdatedAt
	cur.AccessTokenSealed, cur.RefreshTokenSealed, cur.AccessTokenExpiry = n.AccessTokenSealed, n.RefreshTokenSealed, n.AccessTokenExpiry
	cur.RefreshedAt = n.RefreshedAt
	cur.RefreshAt, cur.RefreshFailures, cur.LeaseOwner, cur.LeaseUntil = n.RefreshAt, n.RefreshFailures, n.LeaseOwner, n.LeaseUntil
	cur.Client, cur.EmailVerified = n.Client, n.EmailVerified
	cur.Version++
	m.sessions[s.ID] = cur
	m.writes++
	s.Version = cur.Version
	return nil
}

func (m *Store) DeleteExpiredSessions(_ context.Context, now time.Time, limit int) ([]store.SessionRef, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.SessionRef
	for id, s := range m.sessions {
		if s.Expire.Before(now) && len(out) < limit {
			delete(m.sessions, id)
			out = append(out, store.SessionRef{ID: id, UserID: s.UserID, Provider: s.Provider})
			m.changed("s", id)
		}
	}
	return out, nil
}

func (m *Store) ClaimChore(_ context.Context, chore, _ string, now time.Time, every time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.chores == nil {
		m.chores = map[string]time.Time{}
	}
	if next, ok := m.chores[chore]; ok && now.Before(next) {
		return false, nil
	}
	m.chores[chore] = now.Add(every)
	return true, nil
}

func (m *Store) lease(s *store.Session, owner string, now time.Time, lease time.Duration) {
	until := norm(now.Add(lease))
	s.LeaseOwner, s.LeaseUntil, s.RefreshAt = owner, until, until
	s.Version++
}

func (m *Store) ClaimDueGrants(_ context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var due []store.Session
	for _, s := range m.sessions {
		if !s.RefreshAt.IsZero() && !s.RefreshAt.After(now) && (s.LeaseUntil.IsZero() || !s.LeaseUntil.After(now)) {
			due = append(due, s)
		}
	}
	sort.Slice(due, func(i, j int) bool {
		if !due[i].RefreshAt.Equal(due[j].RefreshAt) {
			return due[i].RefreshAt.Before(due[j].RefreshAt)
		}
		return due[i].ID < due[j].ID
	})
	if len(due) > limit {
		due = due[:max(limit, 0)]
	}
	out := make([]store.Session, 0, len(due))
	for _, s := range due {
		m.lease(&s, owner, now, lease)
		m.sessions[s.ID] = s
		out = append(out, copySession(s))
	}
	return out, nil
}

func (m *Store) ClaimGrant(_ context.Context, id, owner string, now time.Time, lease time.Duration) (store.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	if !ok {
		return store.Session{}, store.ErrNotFound
	}
	if s.LeaseOwner != "" && s.LeaseOwner != owner && s.LeaseUntil.After(now) {
		return store.Session{}, store.ErrLeased
	}
	m.lease(&s, owner, now, lease)
	m.sessions[id] = s
	return copySession(s), nil
}

func (m *Store) NextRefreshAt(context.Context) (time.Time, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var next time.Time
	for _, s := range m.sessions {
		if !s.RefreshAt.IsZero() && (next.IsZero() || s.RefreshAt.Before(next)) {
			next = s.RefreshAt
		}
	}
	return next, !next.IsZero(), nil
}

func (m *Store) CountDue(_ context.Context, now time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, s := range m.sessions {
		if !s.RefreshAt.IsZero() && !s.RefreshAt.After(now) {
			n++
		}
	}
	return n, nil
}

func (m *Store) CreateFlow(_ context.Context, f store.LoginFlow) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, dup := m.flows[f.ID]; dup {
		return store.ErrConflict
	}
	f.CreatedAt, f.ExpiresAt = norm(f.CreatedAt), norm(f.ExpiresAt)
	f.Scopes = slices.Clone(f.Scopes)
	m.flows[f.ID] = f
	return nil
}

func (m *Store) ConsumeFlow(_ context.Context, id string, now time.Time) (store.LoginFlow, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f, ok := m.flows[id]
	if !ok || !f.ExpiresAt.After(now) {
		return store.LoginFlow{}, store.ErrNotFound
	}
	delete(m.flows, id)
	return f, nil
}

func (m *Store) CreateLoginToken(_ context.Context, t store.LoginToken) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t.ExpiresAt = norm(t.ExpiresAt)
	t.SecretHash = slices.Clone(t.SecretHash)
	t.Session = copySession(t.Session)
	m.tokens = append(m.tokens, t)
	return nil
}

func (m *Store) ConsumeLoginToken(_ context.Context, userID string, secretHash []byte, now time.Time) (store.LoginToken, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, t := range m.tokens {
		if t.UserID == userID && bytes.Equal(t.SecretHash, secretHash) {
			m.tokens = slices.Delete(m.tokens, i, i+1)
			if !t.ExpiresAt.After(now) {
				return store.LoginToken{}, store.ErrNotFound
			}
			return t, nil
		}
	}
	return store.LoginToken{}, store.ErrNotFound
}

func (m *Store) DeleteExpiredFlows(_ context.Context, now time.Time, limit int) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, flows := 0, 0
	for id, f := range m.flows {
		if !f.ExpiresAt.After(now) && flows < limit {
			delete(m.flows, id)
			flows++
		}
	}
	n += flows
	kept, tokens := m.tokens[:0], 0
	for _, t := range m.tokens {
		if t.ExpiresAt.After(now) || tokens >= limit {
			kept = append(kept, t)
		} else {
			tokens++
		}
	}
	n += tokens
	m.tokens = kept
	return n, nil
}

func (m *Store) FindProviderSessions(_ context.Context, provider, uid, sid string) ([]store.Session, error) {
	if uid == "" && sid == "" {
		return nil, errors.New("memstore: a uid or a sid is required")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sessionsWhere(func(s store.Session) bool {
		return s.Provider == provider && (uid == "" || s.ProviderUID == uid) && (sid == "" || s.ProviderSID == sid)
	}), nil
}

func (m *Store) UseLogoutToken(_ context.Context, provider, jti string, expires, now time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.jtis == nil {
		m.jtis = map[string]time.Time{}
	}
	key := provider + "\x00" + jti
	if exp, ok := m.jtis[key]; ok && exp.After(now) {
		return false, nil
	}
	m.jtis[key] = expires
	return true, nil
}

func (m *Store) ScanSessions(_ context.Context, f store.SessionFilter, after string, limit int) ([]store.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []store.Session{}
	for _, s := range m.sessions {
		if s.ID > after && (f.UserID == "" || s.UserID == f.UserID) && (f.Provider == "" || s.Provider == f.Provider) {
			out = append(out, copySession(s))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (m *Store) CountLive(_ context.Context, now time.Time) ([]store.ProviderCount, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	by := map[string]*store.ProviderCount{}
	for _, s := range m.sessions {
		if !s.Expire.After(now) {
			continue
		}
		c := by[s.Provider]
		if c == nil {
			c = &store.ProviderCount{Provider: s.Provider}
			by[s.Provider] = c
		}
		c.Sessions++
		if len(s.RefreshTokenSealed) > 0 {
			c.Grants++
		}
	}
	out := []store.ProviderCount{}
	for _, c := range by {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Provider < out[j].Provider })
	return out, nil
}
