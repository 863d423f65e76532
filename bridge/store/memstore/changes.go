package memstore

import (
	"bytes"
	"context"
	"strconv"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// memChange is one row of the Store's change feed (store.Changes).
type memChange struct {
	kind, id string
	at       time.Time
}

// changed records a change; the caller holds m.mu.
func (m *Store) changed(kind, id string) {
	m.changes = append(m.changes, memChange{kind: kind, id: id, at: time.Now()})
	m.written++
}

// visibleChange reports whether a compare-and-swap changes what a reader
// sees (as the SQL backends' triggers decide), not only the lease.
func visibleChange(a, b store.Session) bool {
	return !a.Expire.Equal(b.Expire) || !a.UpdatedAt.Equal(b.UpdatedAt) ||
		!bytes.Equal(a.AccessTokenSealed, b.AccessTokenSealed) || !bytes.Equal(a.RefreshTokenSealed, b.RefreshTokenSealed) ||
		!a.AccessTokenExpiry.Equal(b.AccessTokenExpiry) || a.Client != b.Client || a.EmailVerified != b.EmailVerified
}

// ChangesSince implements store.Changes; the cursor is the next index + 1.
func (m *Store) ChangesSince(_ context.Context, cursor string) (store.ChangeBatch, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	end := len(m.changes) + 1
	b := store.ChangeBatch{Cursor: strconv.Itoa(end)}
	next, _ := strconv.Atoi(cursor)
	if next <= 0 {
		return b, nil
	}
	for _, c := range m.changes[min(next-1, end-1):] {
		if c.id != "" {
			b.Add(c.kind, c.id)
		}
	}
	return b, nil
}

// PruneChanges implements store.Changes; pruned rows keep their place
// (blanked) so cursors stay valid.
func (m *Store) PruneChanges(_ context.Context, age time.Duration) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	before := time.Now().Add(-age)
	n := 0
	for i, c := range m.changes {
		if c.id != "" && c.at.Before(before) {
			m.changes[i] = memChange{}
			n++
		}
	}
	return n, nil
}

// LocalWrites implements store.Changes.
func (m *Store) LocalWrites() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.written + uint64(m.writes)
}

// CreateLoginSession implements store.Sessions (not atomic here: the
// Store serves single-process refresher tests).
func (m *Store) CreateLoginSession(ctx context.Context, in store.IdentityInput, sess *store.Session, maxPerUser int, now time.Time) (store.User, []store.Session, error) {
	if m.identityBlocked(in) {
		return store.User{}, nil, store.ErrUserBlocked // nothing stored
	}
	u, err := m.UpsertIdentity(ctx, in, now)
	if err != nil {
		return u, nil, err
	}
	if u.Blocked {
		return store.User{}, nil, store.ErrUserBlocked
	}
	sess.UserID = u.ID
	if err := m.CreateSession(ctx, sess); err != nil {
		return u, nil, err
	}
	list, _ := m.ListSessions(ctx, u.ID)
	var removed []store.Session
	for i := 0; i < len(list)-maxPerUser; i++ {
		if m.DeleteSession(ctx, list[i].ID) == nil {
			removed = append(removed, list[i])
		}
	}
	return u, removed, nil
}

// RebindFlow implements store.Flows.
func (m *Store) RebindFlow(_ context.Context, id, newID string, now time.Time) (store.LoginFlow, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f, ok := m.flows[id]
	if !ok || !now.Before(f.ExpiresAt) {
		return store.LoginFlow{}, store.ErrNotFound
	}
	delete(m.flows, id)
	f.ID = newID
	m.flows[newID] = f
	return f, nil
}

// CreateSessions implements store.Sessions.
func (m *Store) CreateSessions(ctx context.Context, list []*store.Session) error {
	m.mu.Lock()
	for _, s := range list {
		if _, dup := m.sessions[s.ID]; dup {
			m.mu.Unlock()
			return store.ErrConflict
		}
	}
	m.mu.Unlock()
	for _, s := range list {
		if err := m.CreateSession(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// identityBlocked reports whether in names a known identity whose user is
// blocked: CreateLoginSession then stores nothing, as a transaction would.
func (m *Store) identityBlocked(in store.IdentityInput) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	i, ok := m.identities[in.Provider+"\x00"+in.ProviderUID]
	return ok && m.users[i.UserID].Blocked
}
