package cluster

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/internal/testenv"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testissuer"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testpg"
)

// TestPostgresOutageAndRecovery: `serve` (refresher off) and one `refresh`
// daemon on PostgreSQL, connecting as a role of their own. While refreshes
// are in flight the database goes away (the role loses LOGIN and its
// connections are terminated): both processes report /readyz 503; when it
// comes back, /readyz is 200 again, refreshing resumes, no session is
// lost, nothing was replayed and no token expired before its refresh.
//
// The provider holds token requests for 1s around the cut, so the refreshes
// in flight get their answers (with rotated refresh tokens) while the
// database is unreachable: the refresher must keep the new refresh token
// and store it once the database is back, within its lease, instead of
// dropping it; a dropped rotated token would be replayed at the next
// refresh, and the provider would revoke the grant and end the session.
//
// The outage lasts 6s, a short database failover; the answers to the held
// requests arrive 1s into it. refresh.timeout is 4s, so a lease lasts
// 2*4s+10s = 18s: time enough to store the rotated tokens once the
// database is back.
//
// Timing: access tokens live 30s and before_expiry is 15s, so a token has
// 15s left when it is refreshed; a grant that falls due during the outage
// is refreshed a few seconds after it, well before its token expires.
func TestPostgresOutageAndRecovery(t *testing.T) {
	t.Parallel()
	dsn := testpg.DSN(t)
	schema := testpg.FreshSchema(t, dsn, "sbcluster_")
	role := "sbcluster_role_" + testenv.RandomHex(4)
	create := "CREATE ROLE " + role + " LOGIN"
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			create += " PASSWORD '" + strings.ReplaceAll(p, "'", "''") + "'"
		}
	}
	testpg.Exec(t, dsn, create, "GRANT USAGE, CREATE ON SCHEMA "+schema+" TO "+role)
	t.Cleanup(func() {
		testpg.Exec(t, dsn, "DROP OWNED BY "+role+" CASCADE", "DROP ROLE "+role)
	})
	cut := func() {
		testpg.Exec(t, dsn, "ALTER ROLE "+role+" NOLOGIN",
			"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '"+role+"'")
	}
	restore := func() { testpg.Exec(t, dsn, "ALTER ROLE "+role+" LOGIN") }

	const (
		n      = 30
		ttl    = 30 * time.Second
		before = 15 * time.Second
		outage = 6 * time.Second
	)
	secret := testenv.RandomHex(16)
	iss := startIssuer(t, secret, ttl)
	addr := testenv.FreeAddr(t)
	s := newSettings(iss, secret, "http://"+addr, "postgres", testpg.WithSearchPath(t, dsn, schema, role))
	s.BeforeExpiry, s.Timeout, s.MaxConns = before, 4*time.Second, 4
	noRefresh := s
	noRefresh.RefreshEnabled = false
	srv := startServe(t, "serve", noRefresh, addr)
	daemon := startRefresher(t, "refresh", s)
	// Cleanups run last-in first-out: this one runs before the processes
	// are stopped, so they can stop cleanly even after a failure mid-outage.
	t.Cleanup(restore)
	procs := []*proc{srv, daemon}
	a := newAPI(s.APIKey)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	sessions := loginMany(t, newLoginer(s.PublicURL, iss), a, n, 6,
		func(int) (string, string) { return addr, addr })

	// Hold the first refreshes at the provider; cut the database as soon
	// as one is held.
	iss.SetFaults(testissuer.Faults{TokenDelay: time.Second})
	waitFor(t, 2*ttl, 5*time.Millisecond, "the first refresh request", func() (bool, string) {
		return iss.Stats().RefreshRequests > 0, "none yet"
	})
	cut()
	cutAt := time.Now()
	iss.SetFaults(testissuer.Faults{})
	held := iss.Stats().RefreshRequests
	t.Logf("database cut with %d refresh requests held at the provider", held)

	for _, p := range procs {
		waitFor(t, 20*time.Second, 100*time.Millisecond, p.Name+" /readyz 503", func() (bool, string) {
			code := a.readyz(ctx, p.URL())
			return code == http.StatusServiceUnavailable, fmt.Sprintf("HTTP %d", code)
		})
	}
	// Keep the database away: the held requests are answered 1s into the
	// outage, and their rotated tokens must survive the rest of it.
	time.Sleep(time.Until(cutAt.Add(outage)))
	restore()
	restoredAt := time.Now()
	for _, p := range procs {
		waitFor(t, 30*time.Second, 100*time.Millisecond, p.Name+" /readyz 200", func() (bool, string) {
			code := a.readyz(ctx, p.URL())
			return code == http.StatusOK, fmt.Sprintf("HTTP %d", code)
		})
	}
	t.Logf("database back after %s; ready again after %s", restoredAt.Sub(cutAt).Round(time.Millisecond), time.Since(cutAt).Round(time.Millisecond))

	// Refreshing resumes: every session is refreshed after the outage
	// (its token then expires later than restoredAt+ttl/2), and keeps
	// authenticating all along.
	waitFor(t, 3*ttl, 500*time.Millisecond, "refreshes after the outage", func() (bool, string) {
		exp, err := checkAuthenticated(ctx, a, srv.URL(), sessions)
		if err != nil {
			t.Fatalf("after the outage: %v", err)
		}
		if st := iss.Stats(); st.Replays != 0 {
			t.Fatalf("%d refresh token replays", st.Replays)
		}
		behind := 0
		for _, ts := range sessions {
			if exp[ts.ID].Before(restoredAt.Add(ttl / 2)) {
				behind++
			}
		}
		reqs := iss.Stats().RefreshRequests
		return behind == 0 && reqs >= held+n, fmt.Sprintf("%d sessions not refreshed since; %d refresh requests in all", behind, reqs)
	})
	if err := checkLatestTokens(ctx, a, srv.URL(), iss, sessions); err != nil {
		t.Errorf("stored refresh tokens: %v", err)
	}
	// Sessions the test itself deletes count as signed_out or revoked;
	// only the refresher's endings must stay at 0.
	for _, m := range [][]string{{"sessionbridge_expired_before_refresh_total"}, {"sessionbridge_sessions_ended_total", `reason="refresh_rejected"`}} {
		sum, per, err := metricSum(ctx, a, m[0], procs, m[1:]...)
		if err != nil {
			t.Fatal(err)
		}
		if sum != 0 {
			t.Errorf("%s = %v (serve, refresh), want 0", m, per)
		}
	}
	st := iss.Stats()
	if st.Replays != 0 || st.InvalidGrants != 0 {
		t.Errorf("provider: %d replays, %d invalid_grant answers; want 0", st.Replays, st.InvalidGrants)
	}
	if m := iss.MaxUsesOfAnyRefreshToken(); m != 1 {
		t.Errorf("a refresh token was presented %d times, want exactly 1", m)
	}
	t.Logf("provider: %d refresh requests for %d sessions", st.RefreshRequests, n)
}
