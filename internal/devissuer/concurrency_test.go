package devissuer

import (
	"sync"
	"testing"
)

// TestConcurrentLoginsAndRefreshes runs 50 independent users, each logging
// in and refreshing a few times, while stats are read. (testissuer races
// SetFaults against logins the same way.)
// Under -race it proves the state is guarded; the asserts prove no grant
// leaked into another.
func TestConcurrentLoginsAndRefreshes(t *testing.T) {
	h := newHarness(t, Options{RotateRefreshTokens: true, DetectReuse: true})
	const users, refreshes = 50, 3
	final := make([]string, users)
	errs := make(chan string, users)
	var wg sync.WaitGroup
	for n := range users {
		wg.Go(func() {
			v := verifierFor(n)
			code := h.Code("n", v)
			r := h.ExchangeRaw(code, v)
			if r.Status != 200 {
				errs <- "exchange: " + r.Raw
				return
			}
			rt := r.Str("refresh_token")
			for range refreshes {
				r = h.Refresh(rt)
				if r.Status != 200 || r.Str("refresh_token") == rt {
					errs <- "refresh: " + r.Raw
					return
				}
				rt = r.Str("refresh_token")
				if u := h.Userinfo(r.Str("access_token")); u.Status != 200 {
					errs <- "userinfo: " + u.Raw
					return
				}
			}
			final[n] = rt
		})
	}
	wg.Add(1)
	go func() { // readers racing the logins
		defer wg.Done()
		for range 100 {
			_ = h.iss.Stats()
			_ = h.iss.Requests()
			_ = h.iss.MaxUsesOfAnyRefreshToken()
		}
	}()
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	st := h.iss.Stats()
	if st.Logins != users || st.TokenRequests != users || st.RefreshRequests != users*refreshes || st.Replays != 0 || st.InvalidGrants != 0 {
		t.Errorf("stats %+v", st)
	}
	if m := h.iss.MaxUsesOfAnyRefreshToken(); m != 1 {
		t.Errorf("a refresh token was sent %d times", m)
	}
	if n := h.iss.LiveRefreshTokens(); n != users {
		t.Errorf("live refresh tokens = %d, want %d", n, users)
	}
	for n, rt := range final {
		if rt != "" && !h.iss.IsLatestRefreshToken(rt) {
			t.Errorf("user %d: final token is not the latest", n)
		}
	}
}

// verifierFor returns a distinct valid PKCE verifier (43+ characters).
func verifierFor(n int) string {
	const base = "verifier-0123456789-abcdefghijklmnopqrstuvwxyz-"
	return base + string(rune('A'+n%26)) + string(rune('a'+n/26))
}
