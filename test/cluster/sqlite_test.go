package cluster

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/internal/testenv"
)

// TestSQLiteServeWithTwoRefreshDaemons: `serve` with its refresher off plus
// two `sessionbridge refresh` daemons on one SQLite file behave like one
// `serve`: over several refresh cycles every refresh is exactly one token
// request (no refresh token is ever presented twice, none is replayed),
// every token is refreshed before it expires, every session keeps
// authenticating, and each stored refresh token is the newest of its grant.
//
// Timing: access tokens live 8s and before_expiry is 4s, so a grant is due
// 4s after each refresh (never earlier than half its lifetime). A daemon
// learns of a grant created by serve at its next tick, at most the 5s poll
// interval later: still before the 8s expiry.
func TestSQLiteServeWithTwoRefreshDaemons(t *testing.T) {
	t.Parallel()
	const (
		n      = 40
		ttl    = 8 * time.Second
		before = 4 * time.Second
		cycles = 3
	)
	secret := testenv.RandomHex(16)
	iss := startIssuer(t, secret, ttl)
	addr := testenv.FreeAddr(t)
	s := newSettings(iss, secret, "http://"+addr, "sqlite", filepath.Join(t.TempDir(), "bridge.db"))
	s.BeforeExpiry = before

	noRefresh := s
	noRefresh.RefreshEnabled = false
	srv := startServe(t, "serve", noRefresh, addr)
	r1 := startRefresher(t, "refresh-1", s)
	r2 := startRefresher(t, "refresh-2", s)
	a := newAPI(s.APIKey)

	sessions := loginMany(t, newLoginer(s.PublicURL, iss), a, n, 8,
		func(int) (string, string) { return addr, addr })
	t.Logf("%d sessions created through logins", n)

	// Several refresh cycles, checking all along that every session
	// authenticates with an unexpired token and that nothing was replayed.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// After k refreshes a token's expiry moved by about k*ttl/2 (less the
	// scheduling jitter of up to 5% of the lifetime each time).
	moved := (2*cycles - 1) * ttl / 4
	waitFor(t, time.Duration(cycles+6)*ttl, 500*time.Millisecond, fmt.Sprintf("%d refresh cycles", cycles), func() (bool, string) {
		exp, err := checkAuthenticated(ctx, a, srv.URL(), sessions)
		if err != nil {
			t.Fatalf("during the refresh cycles: %v", err)
		}
		st := iss.Stats()
		if st.Replays != 0 || st.InvalidGrants != 0 {
			t.Fatalf("the provider saw %d refresh token replays and answered invalid_grant %d times", st.Replays, st.InvalidGrants)
		}
		behind := refreshedAtLeast(sessions, exp, moved)
		return behind == 0 && st.RefreshRequests >= cycles*n,
			fmt.Sprintf("%d sessions not yet refreshed %d times; %d refresh requests", behind, cycles, st.RefreshRequests)
	})

	daemons := []*proc{r1, r2}
	checkOneRequestPerRefresh(t, a, iss, []*proc{srv, r1, r2})
	expired, _, err := metricSum(ctx, a, "sessionbridge_expired_before_refresh_total", []*proc{srv, r1, r2})
	if err != nil {
		t.Fatal(err)
	}
	if expired != 0 {
		t.Errorf("sessionbridge_expired_before_refresh_total = %v, want 0", expired)
	}
	_, per, err := metricSum(ctx, a, "sessionbridge_refresh_attempts_total", daemons, `result="success"`)
	if err != nil {
		t.Fatal(err)
	}
	if per[0] == 0 || per[1] == 0 {
		t.Logf("note: one daemon did all the work (successful refreshes per daemon: %v)", per)
	} else {
		t.Logf("successful refreshes per daemon: %v", per)
	}

	// Stop the daemons (SIGTERM: in-flight refreshes finish, exit 0), so
	// the stored tokens hold still for the last checks.
	for _, p := range daemons {
		if err := p.Stop(15 * time.Second); err != nil {
			t.Errorf("%s: %v", p.Name, err)
		}
	}
	if _, err := checkAuthenticated(ctx, a, srv.URL(), sessions); err != nil {
		t.Errorf("after the refresh cycles: %v", err)
	}
	if err := checkLatestTokens(ctx, a, srv.URL(), iss, sessions); err != nil {
		t.Errorf("stored refresh tokens: %v", err)
	}
	st := iss.Stats()
	if st.Replays != 0 {
		t.Errorf("refresh token replays = %d, want 0", st.Replays)
	}
	if m := iss.MaxUsesOfAnyRefreshToken(); m != 1 {
		t.Errorf("a refresh token was presented %d times, want exactly 1", m)
	}
	t.Logf("provider: %d refresh requests for %d sessions, %d replays", st.RefreshRequests, n, st.Replays)
}
