package refresh

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// RefreshNow finds the grant leased by another process, waits, and then
// judges what that process left: new tokens are the answer, a counted
// failure or revoked tokens are its error, and a grant given back untried
// (the other process was busy or its circuit open) is refreshed here
// instead of being returned stale as if it were fresh.
func TestRefreshNowAfterAnotherProcessLetGo(t *testing.T) {
	cases := []struct {
		name      string
		letGo     func(*store.Session)
		wantErr   error
		wantCalls int
	}{
		{"given back untried", func(s *store.Session) { s.RefreshAt = s.LeaseUntil }, nil, 1},
		{"transient failure", func(s *store.Session) { s.RefreshFailures++ }, ErrRetryScheduled, 0},
		{"grant revoked", func(s *store.Session) { s.AccessTokenSealed, s.RefreshTokenSealed, s.RefreshAt = nil, nil, time.Time{} }, ErrGrantRevoked, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forKinds(t, func(t *testing.T, kind string) {
				h := newHarness(t, hopt{kind: kind, real: true})
				ctx := context.Background()
				h.addGrant("s1", time.Now().Add(time.Hour), time.Now().Add(55*time.Minute))
				if _, err := h.st.ClaimGrant(ctx, "s1", "other-process", time.Now(), time.Minute); err != nil {
					t.Fatal(err)
				}
				waiting := waitsOf(h.r)
				done := goRefreshNow(ctx, h.r, "s1")
				recv(t, waiting, "RefreshNow to wait for the other process")

				s := h.get("s1")
				tc.letGo(&s)
				s.LeaseOwner, s.LeaseUntil = "", time.Time{}
				if err := h.st.CompareAndSwapSession(ctx, &s); err != nil {
					t.Fatal(err)
				}
				res := recv(t, done, "RefreshNow")
				got := res.s
				if !errors.Is(res.err, tc.wantErr) {
					t.Fatalf("RefreshNow: %v, want %v", res.err, tc.wantErr)
				}
				if c := h.prov.callCount(); c != tc.wantCalls {
					t.Fatalf("token requests = %d, want %d", c, tc.wantCalls)
				}
				if tc.wantCalls == 1 && h.open(got, "access") == "initial-at-s1" {
					t.Fatal("RefreshNow returned the unrefreshed token")
				}
				if got.ID != "s1" || got.LeaseOwner != "" {
					t.Fatalf("returned row: %+v", got)
				}
			})
		})
	}
}

// The same judgement applies when this process's own loop holds the grant
// and gives it back untried.
func TestRefreshNowAfterOwnLoopGaveBack(t *testing.T) {
	h := newHarness(t, hopt{})
	h.addGrant("s1", t0.Add(time.Minute), t0)
	waiting := waitsOf(h.r)
	// Every slot is taken, so the loop's worker waits for one until its
	// send budget is spent, then gives the grant back untried.
	for range cap(h.r.capacity.slots) {
		h.r.capacity.slots <- struct{}{}
	}
	h.r.tick(context.Background(), nil, false)
	done := goRefreshNow(context.Background(), h.r, "s1")
	recv(t, waiting, "RefreshNow to wait for the loop")
	eventually(t, "the worker to wait for a slot", func() bool { return len(h.clk.pending()) > 0 })
	h.clk.Advance(h.r.lease) // the worker's budget runs out: ErrBusy, grant given back
	got := recv(t, done, "RefreshNow")
	if got.err != nil {
		t.Fatal(got.err)
	}
	h.r.wg.Wait()
	if c := h.prov.callCount(); c != 1 {
		t.Fatalf("token requests = %d, want 1 (by RefreshNow, after the loop gave up)", c)
	}
	if h.open(got.s, "access") == "initial-at-s1" {
		t.Fatal("RefreshNow returned the unrefreshed token")
	}
}

// A flight whose waits (for another process's lease) used up its time
// before it could claim the grant still gets a whole lease for the refresh
// it then makes: the rotated refresh token is stored, not dropped by a
// write whose context ran out.
func TestOnDemandRefreshGetsTheWholeLease(t *testing.T) {
	h := newHarness(t, hopt{kind: "sqlite", real: true})
	h.prov.latency = 300 * time.Millisecond
	h.addGrant("s1", time.Now().Add(time.Hour), time.Now().Add(55*time.Minute))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	s, err := h.r.refreshNow(ctx, "s1")
	if err != nil {
		t.Fatalf("refreshNow: %v", err)
	}
	stored := h.get("s1")
	if _, live := h.prov.valid[h.open(stored, "refresh")]; !live || stored.LeaseOwner != "" || s.Version != stored.Version {
		t.Fatalf("the rotated token was not stored, or the lease was kept: %+v", stored)
	}
}

// WaitOnDemand waits for on-demand refreshes that outlive their callers,
// so that a stopping process does not close the store under them.
func TestWaitOnDemand(t *testing.T) {
	h := newHarness(t, hopt{real: true})
	h.addGrant("s1", time.Now().Add(time.Hour), time.Now().Add(55*time.Minute))
	entered, release := h.prov.hold()
	cctx, cancel := context.WithCancel(context.Background())
	done := goRefreshNow(cctx, h.r, "s1")
	recv(t, entered, "the provider request")
	cancel() // the caller leaves; the refresh goes on
	if res := recv(t, done, "RefreshNow"); !errors.Is(res.err, context.Canceled) {
		t.Fatalf("caller: %v", res.err)
	}
	short, stop := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer stop()
	if err := h.r.WaitOnDemand(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitOnDemand returned %v while a refresh was under way", err)
	}
	release()
	if err := h.r.WaitOnDemand(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := h.get("s1"); h.open(s, "access") == "initial-at-s1" || s.LeaseOwner != "" {
		t.Fatalf("the refresh did not finish before WaitOnDemand returned: %+v", s)
	}
}
