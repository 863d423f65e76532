package refresh

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A grant whose lease still outlives the request but leaves no room to
// store its result must not be sent: the rotated refresh token would be
// written after another process could have claimed the grant again and
// replayed the superseded token.
func TestLeaseLeavesRoomForWrite(t *testing.T) {
	h := newHarness(t, hopt{})
	h.addGrant("s1", t0.Add(time.Minute), t0)
	claimed, err := h.st.ClaimDueGrants(context.Background(), h.r.owner, t0, h.r.timeout+writeMargin/2, 1)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v %d", err, len(claimed))
	}
	h.r.refreshGrant(context.Background(), job{s: claimed[0]})
	if n := h.prov.callCount(); n != 0 {
		t.Fatalf("%d request(s) sent with less than Timeout+writeMargin of lease left", n)
	}
	if s := h.get("s1"); s.LeaseOwner != "" || !s.RefreshAt.Equal(t0) {
		t.Fatalf("not released: owner=%q RefreshAt=%v", s.LeaseOwner, s.RefreshAt)
	}
	// With the refresher's own lease the request goes out.
	claimed, err = h.st.ClaimDueGrants(context.Background(), h.r.owner, t0, h.r.lease, 1)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v %d", err, len(claimed))
	}
	h.r.refreshGrant(context.Background(), job{s: claimed[0]})
	if n := h.prov.callCount(); n != 1 {
		t.Fatalf("requests = %d, want 1", n)
	}
}

// expired_before_refresh counts a token that ran out while its refresh
// request was in flight: the new token was not usable before the old one
// expired.
func TestExpiredDuringRequestCounted(t *testing.T) {
	h := newHarness(t, hopt{})
	h.addGrant("s1", t0.Add(2*time.Second), t0)
	h.prov.setFail(func(int, string) error {
		h.clk.Advance(3 * time.Second) // a slow provider
		return nil
	})
	h.tick()
	if h.attempts(resultSuccess) != 1 {
		t.Fatalf("success = %v", h.attempts(resultSuccess))
	}
	if got := testutil.ToFloat64(h.r.metrics.expired.WithLabelValues("fake")); got != 1 {
		t.Fatalf("expired_before_refresh = %v, want 1", got)
	}
}
