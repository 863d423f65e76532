package bridge

import (
	"context"
	"sync"
	"time"
)

// UserAccessPeriod is how often a user's accessedAt moves: at most once per
// period, as Appwrite does (APP_USER_ACCESS, 24 hours), so that checking a
// session is a read and not a write.
const UserAccessPeriod = 24 * time.Hour

// maxTouched bounds the per-process memory of recently touched users.
const maxTouched = 10000

// touches remembers which users this process touched recently, so most
// session checks skip the store entirely; the store's conditional update
// keeps the once-per-period rule across processes.
type touches struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// due reports whether userID should be touched at now, and if so marks it.
func (t *touches) due(userID string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if at, ok := t.last[userID]; ok && now.Sub(at) < UserAccessPeriod {
		return false
	}
	if t.last == nil || len(t.last) >= maxTouched {
		t.last = make(map[string]time.Time) // forget all: at worst one extra read per user
	}
	t.last[userID] = now
	return true
}

// touchUser records that the user used a session (User.accessedAt). It is
// best effort: a failure is logged and never fails the request.
func (s *Service) touchUser(ctx context.Context, userID string) {
	now := s.now()
	if !s.touched.due(userID, now) {
		return
	}
	if err := s.o.Store.TouchUser(ctx, userID, now, UserAccessPeriod); err != nil {
		s.o.Logger.Debug("could not update the user's accessedAt", "user", userID, "err", err)
	}
}
