package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/internal/testenv"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testissuer"
)

// tracked is a session created by a test login.
type tracked struct {
	Email   string
	Cookie  string
	ID      string
	UserID  string
	Initial time.Time // access token expiry right after the login
}

// loginMany runs n logins with `workers` in parallel; route(i) names the
// instances serving login i's start route and its bind hop and callback.
// Every login is a different user. It then reads each new session once
// through the instance that finished the login.
func loginMany(t testing.TB, l *loginer, a *api, n, workers int, route func(i int) (start, finish string)) []*tracked {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out := make([]*tracked, n)
	var next atomic.Int64
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				start, finish := route(i)
				email := fmt.Sprintf("user%04d-%s@example.test", i, testenv.RandomHex(4))
				// Each user browses from an address of their own.
				ip := fmt.Sprintf("10.0.%d.%d", i/250, i%250+1)
				cookie, err := l.login(ctx, start, finish, email, ip)
				var s apiSession
				if err == nil {
					var code int
					s, code, err = a.current(ctx, "http://"+finish, cookie)
					if err == nil && code != http.StatusOK {
						err = fmt.Errorf("the new session does not authenticate on %s: HTTP %d", finish, code)
					}
				}
				var exp time.Time
				if err == nil {
					exp, err = s.Expiry()
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("login %d (start %s, finish %s): %w", i, start, finish, err))
					mu.Unlock()
					cancel()
					return
				}
				out[i] = &tracked{Email: email, Cookie: cookie, ID: s.ID, UserID: s.UserID, Initial: exp}
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d logins failed; first: %v", len(errs), errs[0])
	}
	return out
}

// checkAuthenticated checks, concurrently, that every session authenticates
// on base as itself and that its access token has not expired. It returns
// each session's current access token expiry, by session ID.
func checkAuthenticated(ctx context.Context, a *api, base string, sessions []*tracked) (map[string]time.Time, error) {
	var mu sync.Mutex
	exp := make(map[string]time.Time, len(sessions))
	err := eachSession(sessions, func(ts *tracked) error {
		s, code, err := a.current(ctx, base, ts.Cookie)
		now := time.Now()
		switch {
		case err != nil:
			return fmt.Errorf("on %s: %w", base, err)
		case code != http.StatusOK:
			return fmt.Errorf("on %s: HTTP %d", base, code)
		case s.ID != ts.ID:
			return fmt.Errorf("on %s: authenticated as session %s", base, s.ID)
		}
		e, err := s.Expiry()
		if err == nil && !e.After(now) {
			err = fmt.Errorf("access token expired at %s (now %s)", e.Format(time.RFC3339Nano), now.Format(time.RFC3339Nano))
		}
		if err != nil {
			return fmt.Errorf("on %s: %w", base, err)
		}
		mu.Lock()
		exp[ts.ID] = e
		mu.Unlock()
		return nil
	})
	return exp, err
}

// checkLatestTokens checks that the refresh token stored for every session
// (read with the API key) is the newest of its family at the provider. A
// refresh may be under way at the moment of the read (the provider has
// rotated the token and the answer is on its way to the store), so a stale
// read is read again a few times over about 1.5s: only a token that stays
// stale is a failure.
func checkLatestTokens(ctx context.Context, a *api, base string, iss *testissuer.Issuer, sessions []*tracked) error {
	read := func(ts *tracked) (string, error) {
		list, err := a.userSessions(ctx, base, ts.UserID)
		if err != nil {
			return "", err
		}
		for _, s := range list {
			if s.ID == ts.ID {
				if s.RefreshToken == "" {
					return "", errors.New("no providerRefreshToken stored")
				}
				return s.RefreshToken, nil
			}
		}
		return "", errors.New("session missing from the user's sessions")
	}
	return eachSession(sessions, func(ts *tracked) error {
		for attempt := range 6 {
			if attempt > 0 {
				time.Sleep(time.Duration(attempt) * 100 * time.Millisecond)
			}
			rt, err := read(ts)
			if err != nil {
				return err
			}
			if iss.IsLatestRefreshToken(rt) {
				return nil
			}
		}
		return errors.New("the stored refresh token is not the newest of its grant (or the grant was revoked)")
	})
}

// eachSession runs check on every session, 8 at a time, and joins the
// first failures (each prefixed with its session).
func eachSession(sessions []*tracked, check func(*tracked) error) error {
	var mu sync.Mutex
	var errs []error
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(sessions) {
					return
				}
				if err := check(sessions[i]); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("session %s: %w", sessions[i].ID, err))
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return joinFirst(errs, 5)
}

// joinFirst joins at most n errors and says how many there were.
func joinFirst(errs []error, n int) error {
	if len(errs) == 0 {
		return nil
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	var b strings.Builder
	fmt.Fprintf(&b, "%d failures", len(errs))
	for i, e := range errs {
		if i == n {
			b.WriteString("\n  ...")
			break
		}
		b.WriteString("\n  " + e.Error())
	}
	return errors.New(b.String())
}

// refreshedAtLeast reports whether every session's access token expiry
// has moved at least by `by` since its login, according to exp; it returns
// how many have not.
func refreshedAtLeast(sessions []*tracked, exp map[string]time.Time, by time.Duration) int {
	behind := 0
	for _, ts := range sessions {
		if e, ok := exp[ts.ID]; !ok || e.Sub(ts.Initial) < by {
			behind++
		}
	}
	return behind
}

// metricSum scrapes a metric from each process and adds the values up.
func metricSum(ctx context.Context, a *api, name string, procs []*proc, labels ...string) (float64, []float64, error) {
	var sum float64
	per := make([]float64, len(procs))
	for i, p := range procs {
		v, err := a.metric(ctx, p.URL(), name, labels...)
		if err != nil {
			return 0, nil, fmt.Errorf("%s: %w", p.Name, err)
		}
		per[i] = v
		sum += v
	}
	return sum, per, nil
}

// checkOneRequestPerRefresh looks for a quiet moment in which the
// provider's count of refresh requests equals the sum of successful
// refreshes the processes report: every token request led to exactly one
// stored refresh. Refreshes in flight make the two differ for a moment, so
// it tries a few times; more successes than requests is a failure at once.
func checkOneRequestPerRefresh(t testing.TB, a *api, iss *testissuer.Issuer, procs []*proc) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var last string
	for range 40 {
		before := iss.Stats().RefreshRequests
		sum, per, err := metricSum(ctx, a, "sessionbridge_refresh_attempts_total", procs, `result="success"`)
		if err != nil {
			t.Fatal(err)
		}
		after := iss.Stats().RefreshRequests
		last = fmt.Sprintf("provider saw %d..%d refresh requests; processes report %v successful refreshes", before, after, per)
		if int(sum) > after {
			t.Fatalf("more successful refreshes than token requests: %s", last)
		}
		if before == after && int(sum) == after {
			t.Logf("one token request per refresh: %s", last)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("never found the token requests equal to the successful refreshes: %s", last)
}
