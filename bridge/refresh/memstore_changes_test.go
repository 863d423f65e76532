package refresh

import (
	"bytes"
	"context"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// memChange is one row of the memStore's change feed (store.Changes).
type memChange struct {
	kind, id string
	at       time.Time
}

// changed records a change; the caller holds m.mu.
func (m *memStore) changed(kind, id string) {
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
func (m *memStore) ChangesSince(_ context.Context, cursor int64) (store.ChangeBatch, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	end := int64(len(m.changes)) + 1
	if cursor <= 0 {
		return store.ChangeBatch{Cursor: end}, nil
	}
	b := store.ChangeBatch{Cursor: end}
	for _, c := range m.changes[min(cursor-1, end-1):] {
		if c.kind == "u" {
			b.Users = append(b.Users, c.id)
		} else if c.id != "" {
			b.Sessions = append(b.Sessions, c.id)
		}
	}
	return b, nil
}

// PruneChanges implements store.Changes; pruned rows keep their place
// (blanked) so cursors stay valid.
func (m *memStore) PruneChanges(_ context.Context, before time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
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
func (m *memStore) LocalWrites() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.written + uint64(m.writes)
}

// CreateLoginSession implements store.Sessions (not atomic here: the
// memStore serves single-process refresher tests).
func (m *memStore) CreateLoginSession(ctx context.Context, in store.IdentityInput, sess *store.Session, maxPerUser int, now time.Time) (store.User, []store.Session, error) {
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
func (m *memStore) RebindFlow(_ context.Context, id, newID string, now time.Time) (store.LoginFlow, error) {
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
func (m *memStore) CreateSessions(ctx context.Context, list []*store.Session) error {
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
