package refresh

import (
	"context"
	"testing"
	"time"
)

// Blocking a user while one of its grants is being refreshed: the rotated
// refresh token is still stored (dropping it would make the next refresh
// replay the old one), but the grant stays off the schedule, so the
// refresher does not refresh it again until the user is unblocked.
func TestBlockDuringRefreshKeepsTokenAndUnschedules(t *testing.T) {
	forKinds(t, func(t *testing.T, kind string) {
		h := newHarness(t, hopt{kind: kind, real: true})
		h.addGrant("b1", time.Now().Add(time.Hour), time.Now())
		entered, release := h.prov.hold()
		stop := h.run(h.r)
		defer stop()
		recv(t, entered, "the refresh request")
		if _, err := h.st.SetUserBlocked(context.Background(), h.userID, true, time.Now()); err != nil {
			t.Fatal(err)
		}
		release()
		eventually(t, "the refresh to be stored", func() bool { return h.attempts(resultSuccess) == 1 })
		s := h.get("b1")
		h.prov.mu.Lock()
		_, live := h.prov.valid[h.open(s, "refresh")]
		h.prov.mu.Unlock()
		if !live {
			t.Fatal("the rotated refresh token was not stored")
		}
		if !s.RefreshAt.IsZero() || s.LeaseOwner != "" {
			t.Fatalf("blocked user's grant: RefreshAt %v, lease %q; want unscheduled and released", s.RefreshAt, s.LeaseOwner)
		}
		if _, ok, _ := h.st.NextRefreshAt(context.Background()); ok {
			t.Fatal("a grant is still scheduled")
		}
		if _, err := h.st.SetUserBlocked(context.Background(), h.userID, false, time.Now()); err != nil {
			t.Fatal(err)
		}
		h.r.Notify(time.Now())
		eventually(t, "a refresh after unblocking", func() bool { return h.attempts(resultSuccess) == 2 })
	})
}
