//go:build load

// The load measurements here build only with -tags load: they take tens
// of seconds and measure, not check.

package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/sessionbridge/sessionbridge/bridge/seal"
	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/bridge/store/postgres"
	"github.com/sessionbridge/sessionbridge/internal/devissuer"
	"github.com/sessionbridge/sessionbridge/internal/testenv"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testissuer"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testpg"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// TestRefreshRateLoad measures the aggregate refresh rate of one, two and
// three `sessionbridge refresh` processes on one PostgreSQL schema against
// the same fake provider, whose token endpoint answers after a fixed
// latency. For each process count it stores N sessions (real grants at the
// provider) all due at one instant, starts the daemons before that
// instant, and times how long they take to refresh every grant once.
//
//	go test -tags load ./test/cluster -run TestRefreshRateLoad -v
//
// SESSIONBRIDGE_CLUSTER_LOAD_N (default 3000) sets N and
// SESSIONBRIDGE_CLUSTER_LOAD_LATENCY_MS (default 20) the provider latency.
func TestRefreshRateLoad(t *testing.T) {
	dsn := testpg.DSN(t)
	n := envInt("SESSIONBRIDGE_CLUSTER_LOAD_N", 3000)
	latency := time.Duration(envInt("SESSIONBRIDGE_CLUSTER_LOAD_LATENCY_MS", 20)) * time.Millisecond
	for procs := 1; procs <= 3; procs++ {
		t.Run(fmt.Sprintf("%d-refresh-processes", procs), func(t *testing.T) {
			measureRefreshRate(t, dsn, n, procs, latency)
		})
	}
}

func measureRefreshRate(t *testing.T, dsn string, n, procs int, latency time.Duration) {
	schema := testpg.FreshSchema(t, dsn, "sbcluster_")
	secret := testenv.RandomHex(16)
	iss := testissuer.Start(t, devissuer.Options{
		ClientID: clientID, ClientSecret: secret, RotateRefreshTokens: true, DetectReuse: true,
		AccessTokenTTL: time.Hour, SigningKey: testenv.SigningKey(),
		AutoApprove: &devissuer.User{Subject: "load-user", Email: "load@example.test", EmailVerified: true},
	})
	s := newSettings(iss, secret, "http://127.0.0.1:1", "postgres", testpg.WithSearchPath(t, dsn, schema, ""))
	s.Timeout, s.Concurrency, s.MaxConns, s.LogLevel = 5*time.Second, 64, 10, "warn"

	// Start the daemons first, then store the grants due a moment later
	// so that every daemon is up and asleep when they fall due.
	daemons := make([]*proc, procs)
	for i := range daemons {
		daemons[i] = startRefresher(t, fmt.Sprintf("refresh-%d", i+1), s)
	}
	seeded := time.Now()
	dueAt := seedGrants(t, iss, s, n)
	t.Logf("seeded %d grants in %s", n, time.Since(seeded).Round(time.Millisecond))
	iss.SetFaults(testissuer.Faults{TokenDelay: latency})
	// The daemons learn of the new grants at their next poll (5s at most).
	a := newAPI(s.APIKey)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	self0 := selfCPU()
	cpu0, _, err := metricSum(ctx, a, "process_cpu_seconds_total", daemons)
	if err != nil {
		t.Fatal(err)
	}
	var first, done time.Time
	for {
		st := iss.Stats()
		if first.IsZero() && st.RefreshRequests > 0 {
			first = time.Now()
		}
		if st.RefreshRequests < n && ctx.Err() == nil {
			// Scraping costs CPU the daemons need: only once every
			// request has been sent.
			time.Sleep(5 * time.Millisecond)
			continue
		}
		succ, _, err := metricSum(ctx, a, "sessionbridge_refresh_attempts_total", daemons, `result="success"`)
		if err != nil {
			t.Fatal(err)
		}
		if int(succ) >= n {
			done = time.Now()
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("only %v of %d grants refreshed", succ, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cpu1, _, _ := metricSum(ctx, a, "process_cpu_seconds_total", daemons)
	self1 := selfCPU()
	_, perProc, _ := metricSum(ctx, a, "sessionbridge_refresh_attempts_total", daemons, `result="success"`)
	st := iss.Stats()
	if st.Replays != 0 || iss.MaxUsesOfAnyRefreshToken() != 1 {
		t.Errorf("%d replays; a refresh token was presented %d times", st.Replays, iss.MaxUsesOfAnyRefreshToken())
	}
	if st.RefreshRequests != n {
		t.Errorf("%d refresh requests for %d grants, want exactly one each", st.RefreshRequests, n)
	}
	busy := done.Sub(first)
	bound := float64(procs*s.Concurrency) / latency.Seconds()
	rate := float64(n) / busy.Seconds()
	var rss []string
	for _, p := range daemons {
		rss = append(rss, peakRSS(p))
	}
	t.Logf("RESULT procs=%d n=%d latency=%s: %.0f refreshes/s (Little's-law bound %.0f/s, %.0f%%); first request %s after due, all done %s after due; daemon CPU %.2f ms/refresh (fake provider and test: %.2f ms/refresh); per process %v; peak RSS %v",
		procs, n, latency, rate, bound, 100*rate/bound, first.Sub(dueAt).Round(time.Millisecond), done.Sub(dueAt).Round(time.Millisecond),
		1000*(cpu1-cpu0)/float64(n), 1000*(self1-self0).Seconds()/float64(n), perProc, rss)
}

// seedGrants obtains n grants from the provider (code flow, as the bridge
// would) and stores them as sessions of one user, all due at the returned
// instant, straight through the store API.
func seedGrants(t *testing.T, iss *testissuer.Issuer, s settings, n int) time.Time {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	st, err := postgres.Open(ctx, s.DSN, 8)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tokenKey, err := base64.StdEncoding.DecodeString(s.TokenKey)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := seal.New([][]byte{tokenKey})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	user, err := st.UpsertIdentity(ctx, store.IdentityInput{Provider: providerKey, ProviderUID: "load-user",
		Email: "load@example.test", EmailVerified: true, Name: "load"}, now)
	if err != nil {
		t.Fatal(err)
	}
	conf := &oauth2.Config{ClientID: clientID, ClientSecret: s.ClientSecret, RedirectURL: "http://127.0.0.1/cb",
		Scopes:   []string{"openid", "email", "profile"},
		Endpoint: oauth2.Endpoint{AuthURL: iss.URL() + "/authorize", TokenURL: iss.URL() + "/token", AuthStyle: oauth2.AuthStyleInHeader}}
	noRedirect := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// The grants fall due a few seconds after seeding ends; every daemon
	// polls at least every 5s, so all are asleep with the due time known.
	var dueAt time.Time
	sessions := make([]store.Session, n)
	var next atomic.Int64
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				tok, err := grant(ctx, conf, noRedirect)
				if err == nil {
					id := store.NewID()
					secret := sha256.Sum256([]byte(testenv.RandomHex(16)))
					sessions[i] = store.Session{ID: id, UserID: user.ID, CreatedAt: now, UpdatedAt: now,
						Expire: now.Add(24 * time.Hour), SecretHash: secret[:], Provider: providerKey,
						ProviderUID: "load-user", EmailVerified: true, AccessTokenExpiry: tok.Expiry}
					sessions[i].AccessTokenSealed, err = keys.Seal(tok.AccessToken, seal.AAD(id, "access"))
					if err == nil {
						sessions[i].RefreshTokenSealed, err = keys.Seal(tok.RefreshToken, seal.AAD(id, "refresh"))
					}
				}
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					cancel()
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		t.Fatalf("seeding grants: %v", firstErr)
	}
	dueAt = time.Now().Add(6 * time.Second)
	for i := range sessions {
		sessions[i].RefreshAt = dueAt
		if err := st.CreateSession(ctx, &sessions[i]); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
	}
	if wait := time.Until(dueAt); wait < time.Second {
		t.Logf("note: storing the sessions took long; they were due %s after the last insert", wait)
	}
	return dueAt
}

// grant runs the code flow with PKCE against the auto-approving provider.
func grant(ctx context.Context, conf *oauth2.Config, c *http.Client) (*oauth2.Token, error) {
	verifier := oauth2.GenerateVerifier()
	u := conf.AuthCodeURL(testenv.RandomHex(16), oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", testenv.RandomHex(16)))
	resp, err := get(ctx, c, u)
	if err != nil {
		return nil, err
	}
	loc, err := resp.Location()
	if err != nil {
		return nil, fmt.Errorf("authorize: HTTP %d without a redirect", resp.StatusCode)
	}
	code := loc.Query().Get("code")
	if code == "" {
		return nil, fmt.Errorf("authorize: no code (error %q)", loc.Query().Get("error"))
	}
	return conf.Exchange(context.WithValue(ctx, oauth2.HTTPClient, c), code, oauth2.VerifierOption(verifier))
}

// selfCPU is the CPU time (user+system) this test process has used: the
// fake provider runs in it.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS reads a process's peak resident set size (Linux), or "?".
func peakRSS(p *proc) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Cmd.Process.Pid))
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return "?"
}

// TestSessionCheckLoad measures session checks per second (GET
// /v1/account/sessions/current) on one `serve` instance, on SQLite and on
// PostgreSQL.
//
//	go test -tags load ./test/cluster -run TestSessionCheckLoad -v
func TestSessionCheckLoad(t *testing.T) {
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			secret := testenv.RandomHex(16)
			iss := startIssuer(t, secret, time.Hour)
			addr := testenv.FreeAddr(t)
			dsn := t.TempDir() + "/bridge.db"
			if driver == "postgres" {
				base := testpg.DSN(t)
				dsn = testpg.WithSearchPath(t, base, testpg.FreshSchema(t, base, "sbcluster_"), "")
			}
			s := newSettings(iss, secret, "http://"+addr, driver, dsn)
			s.LogLevel = "warn"
			srv := startServe(t, "serve", s, addr)
			a := newAPI(s.APIKey)
			sessions := loginMany(t, newLoginer(s.PublicURL, iss), a, 16, 4, func(int) (string, string) { return addr, addr })
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			const workers, span = 16, 5 * time.Second
			var ok, bad atomic.Int64
			end := time.Now().Add(span)
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					for time.Now().Before(end) {
						_, code, err := a.current(ctx, srv.URL(), sessions[w%len(sessions)].Cookie)
						if err == nil && code == http.StatusOK {
							ok.Add(1)
						} else {
							bad.Add(1)
						}
					}
				})
			}
			wg.Wait()
			if bad.Load() > 0 {
				t.Errorf("%d session checks failed", bad.Load())
			}
			t.Logf("RESULT %s: %.0f session checks/s (%d workers, %s)", driver, float64(ok.Load())/span.Seconds(), workers, span)
		})
	}
}

// get sends a GET with c and drains the answer (used by the load
// measurement only, hence here).
func get(ctx context.Context, c *http.Client, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	drain(resp)
	return resp, nil
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
}
