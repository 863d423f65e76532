package cluster

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/internal/testenv"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testissuer"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testpg"
)

// TestPostgresThreeServesOneKilled: three `serve` processes, refresher on,
// behind one public URL on one PostgreSQL schema. 300 users log in, their
// logins spread over the three and started on one instance and finished on
// another (the flow lives in the store); a session ended on one instance
// stops authenticating on the others at once; then, in the middle of a
// refresh cycle, one instance is SIGKILLed. Afterwards: no refresh token
// was ever replayed, no token expired before its refresh, every session
// authenticates on both survivors, and each stored refresh token is the
// newest of its grant.
//
// Timing. refresh.timeout is 4s, so a lease lasts 2*4s+10s = 18s. A grant
// the killed process had claimed stays leased for up to 18s after its due
// time, and only then can a survivor take it. Access tokens live 52s and
// before_expiry is 30s, so a grant is due at half its lifetime, 26s before
// expiry (less up to 2.6s of jitter): a survivor that claims it when the
// lease runs out still has about 8s before the token expires, which covers
// the survivor's wake up (it sleeps until the earliest RefreshAt, which for
// a leased grant is its lease end) and the request. The timeout leaves
// 2.5s over killHold: under a loaded CI machine (-race, every package at
// once) a 0.5s margin let a held request time out on a survivor after the
// provider had rotated its token, which then ended the session.
//
// The kill. A process killed after the provider rotated a refresh token but
// before it stored the new one loses the grant: no client can avoid that
// (the provider's answer is gone with the process), and it is why real
// providers keep a short reuse grace period. To kill the instance in the
// middle of refreshes without that unrecoverable window, the provider
// briefly holds token requests (see killInFlight): the killed instance's
// requests in flight are then all unanswered (the provider sees the client
// go away and rotates nothing), and its leases must run out before anyone
// else may refresh those grants. The refresh tokens it had presented are
// the only ones presented twice; every other presentation count must be 1.
func TestPostgresThreeServesOneKilled(t *testing.T) {
	t.Parallel()
	dsn := testpg.DSN(t)
	schema := testpg.FreshSchema(t, dsn, "sbcluster_")
	const (
		n       = 300
		ttl     = 52 * time.Second
		before  = 30 * time.Second
		timeout = 4 * time.Second
	)
	secret := testenv.RandomHex(16)
	iss := startIssuer(t, secret, ttl)
	// The public URL is the "load balancer": lbTransport sends each
	// request to the instance the test picks.
	public := "http://" + testenv.FreeAddr(t)
	s := newSettings(iss, secret, public, "postgres", testpg.WithSearchPath(t, dsn, schema, ""))
	s.BeforeExpiry, s.Timeout, s.MaxConns = before, timeout, 5
	procs := []*proc{startServe(t, "serve-A", s, ""), startServe(t, "serve-B", s, ""), startServe(t, "serve-C", s, "")}
	addrs := []string{procs[0].Addr, procs[1].Addr, procs[2].Addr}
	a := newAPI(s.APIKey)

	// Login i starts on instance i%3 and finishes on (i/3)%3: every pair,
	// six of nine across instances.
	cross := 0
	route := func(i int) (string, string) { return addrs[i%3], addrs[(i/3)%3] }
	for i := range n {
		if st, fin := route(i); st != fin {
			cross++
		}
	}
	t0 := time.Now()
	sessions := loginMany(t, newLoginer(public, iss), a, n, 20, route)
	t.Logf("%d logins (%d started on one instance and finished on another) in %s", n, cross, time.Since(t0).Round(time.Millisecond))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	revocationIsGlobal(t, ctx, a, procs, sessions[0], sessions[1])
	sessions = sessions[2:]

	// Mid-run: once the first refresh cycle is under way, kill the victim
	// while it has refreshes in flight, so that it dies holding leases.
	victim, survivors := procs[2], procs[:2]
	waitFor(t, 2*ttl, 100*time.Millisecond, "the first refresh cycle", func() (bool, string) {
		reqs := iss.Stats().RefreshRequests
		return reqs > 0, "no refresh request yet"
	})
	killedAt, inFlight := killInFlight(t, ctx, a, iss, victim, 2*ttl)
	atKill := iss.Stats().RefreshRequests
	if st := iss.Stats(); st.Replays != 0 {
		t.Fatalf("%d refresh token replays before the kill", st.Replays)
	}
	t.Logf("killed %s with %v refreshes in flight, after %d refresh requests", victim.Name, inFlight, atKill)

	// Two more cycles. Every session must have been refreshed after the
	// kill, the victim's leased ones included: its expiry is then later
	// than killedAt+ttl (plus a quarter lifetime, to be sure the token was
	// issued after the kill, not just before it).
	waitFor(t, 4*ttl, time.Second, "two refresh cycles after the kill", func() (bool, string) {
		exp, err := checkAuthenticated(ctx, a, survivors[int(time.Now().Unix())%2].URL(), sessions)
		if err != nil {
			t.Fatalf("after the kill: %v", err)
		}
		if st := iss.Stats(); st.Replays != 0 {
			t.Fatalf("%d refresh token replays after the kill", st.Replays)
		}
		behind := 0
		for _, ts := range sessions {
			if exp[ts.ID].Before(killedAt.Add(ttl + ttl/4)) {
				behind++
			}
		}
		reqs := iss.Stats().RefreshRequests
		return behind == 0 && reqs >= atKill+2*len(sessions),
			fmt.Sprintf("%d sessions not refreshed since the kill; %d refresh requests since", behind, reqs-atKill)
	})

	for _, p := range survivors {
		if _, err := checkAuthenticated(ctx, a, p.URL(), sessions); err != nil {
			t.Errorf("on %s: %v", p.Name, err)
		}
	}
	if err := checkLatestTokens(ctx, a, survivors[0].URL(), iss, sessions); err != nil {
		t.Errorf("stored refresh tokens: %v", err)
	}
	// Sessions the test itself deletes count as signed_out or revoked;
	// only the refresher's endings must stay at 0.
	for _, m := range [][]string{{"sessionbridge_expired_before_refresh_total"}, {"sessionbridge_sessions_ended_total", `reason="refresh_rejected"`}} {
		sum, per, err := metricSum(ctx, a, m[0], survivors, m[1:]...)
		if err != nil {
			t.Fatal(err)
		}
		if sum != 0 {
			t.Errorf("%s on the survivors = %v, want 0", m, per)
		}
	}
	st := iss.Stats()
	if st.Replays != 0 || st.InvalidGrants != 0 {
		t.Errorf("provider: %d replays, %d invalid_grant answers; want 0", st.Replays, st.InvalidGrants)
	}
	if abandoned := checkPresentations(t, iss); abandoned == 0 {
		t.Errorf("the provider saw no refresh request abandoned by the killed process: the kill did not land mid-refresh")
	}
	_, per, _ := metricSum(ctx, a, "sessionbridge_refresh_attempts_total", survivors, `result="success"`)
	t.Logf("provider: %d refresh requests for %d sessions; survivors' successful refreshes %v", st.RefreshRequests, len(sessions), per)
}

// killHold is how long the provider holds token requests around a kill.
// It is shorter than refresh.timeout, so the other instances' requests are
// only slowed down, never timed out.
const killHold = 1500 * time.Millisecond

// killInFlight SIGKILLs victim at a moment when it has refreshes in flight
// that the provider has not answered, and returns when and how many. The
// provider holds every request arriving from "armed" on for killHold; after
// 300ms the requests that arrived earlier have been answered and stored;
// and a kill before armed+killHold-200ms comes before any held request is
// answered. So the victim's requests in flight at the kill are all
// unanswered, and the provider, seeing the client go away, rotates
// nothing. If the victim has nothing in flight in that window, the
// provider is let go and the attempt repeated, until the deadline.
func killInFlight(t *testing.T, ctx context.Context, a *api, iss *testissuer.Issuer, victim *proc, deadline time.Duration) (time.Time, float64) {
	t.Helper()
	end := time.Now().Add(deadline)
	for time.Now().Before(end) {
		iss.SetFaults(testissuer.Faults{TokenDelay: killHold})
		armed := time.Now()
		time.Sleep(300 * time.Millisecond)
		for time.Since(armed) < killHold-400*time.Millisecond {
			v, err := a.metric(ctx, victim.URL(), "sessionbridge_refresh_in_flight")
			if err != nil {
				t.Fatal(err)
			}
			if v > 0 && time.Since(armed) < killHold-200*time.Millisecond {
				at := time.Now()
				victim.Kill()
				iss.SetFaults(testissuer.Faults{})
				return at, v
			}
			time.Sleep(20 * time.Millisecond)
		}
		iss.SetFaults(testissuer.Faults{})
		t.Logf("%s had no refresh in flight; trying again", victim.Name)
		// Let every held request be answered before arming again.
		time.Sleep(killHold + 300*time.Millisecond)
	}
	t.Fatalf("%s never had a refresh in flight", victim.Name)
	return time.Time{}, 0
}

// revocationIsGlobal ends one session on the first instance (its owner's
// DELETE) and one on the second (an API key's DELETE): each stops
// authenticating at once on the instance that ended it, and on every
// other one within the cache's bound (1 s; the deadline here is generous
// for -race: it asserts the outcome, not the bound, which go run ./bench
// measures).
func revocationIsGlobal(t *testing.T, ctx context.Context, a *api, procs []*proc, x, y *tracked) {
	t.Helper()
	if code, err := a.deleteCurrent(ctx, procs[0].URL(), x.Cookie); err != nil || code != http.StatusNoContent {
		t.Fatalf("DELETE current session on %s: HTTP %d, %v", procs[0].Name, code, err)
	}
	if code, err := a.deleteUserSession(ctx, procs[1].URL(), y.UserID, y.ID); err != nil || code != http.StatusNoContent {
		t.Fatalf("DELETE /v1/users/{id}/sessions/{id} on %s: HTTP %d, %v", procs[1].Name, code, err)
	}
	for i, ts := range []*tracked{x, y} {
		if _, code, err := a.current(ctx, procs[i].URL(), ts.Cookie); err != nil || code != http.StatusUnauthorized {
			t.Errorf("ended session %s on %s, the instance that ended it: HTTP %d (%v), want 401 at once", ts.ID, procs[i].Name, code, err)
		}
		for _, p := range procs {
			waitFor(t, 10*time.Second, 10*time.Millisecond, "ended session "+ts.ID+" refused on "+p.Name, func() (bool, string) {
				_, code, err := a.current(ctx, p.URL(), ts.Cookie)
				return err == nil && code == http.StatusUnauthorized, fmt.Sprintf("HTTP %d (%v), want 401", code, err)
			})
		}
	}
}

// checkPresentations: no refresh token was presented to the provider twice,
// except a token whose earlier presentation the client abandoned before
// any answer (counted "canceled": the provider rotated nothing). It
// returns how many tokens had such an abandoned presentation.
func checkPresentations(t *testing.T, iss *testissuer.Issuer) int {
	t.Helper()
	canceled := map[string]int{}
	for _, r := range iss.TokenRequestRecords() {
		if r.RefreshTokenID != "" && r.Error == "canceled" {
			canceled[r.RefreshTokenID]++
		}
	}
	twice := 0
	for id, uses := range iss.RefreshTokenUses() {
		if uses-canceled[id] > 1 {
			twice++
		}
	}
	if twice > 0 {
		t.Errorf("%d refresh tokens were presented (and answered) more than once", twice)
	}
	t.Logf("%d refresh requests abandoned by the killed process were taken over by the survivors", len(canceled))
	return len(canceled)
}
