package refresh

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// flight is one on-demand refresh shared by concurrent callers.
type flight struct {
	done    chan struct{}
	s       store.Session
	err     error
	waiters int
}

// RefreshNow refreshes one session's grant now, whether or not it is due
// (PATCH /v1/account/sessions/{id}), and returns the session as stored
// afterwards. Concurrent calls for the same session in this process share
// one refresh. When another process (or this process's loop) is refreshing
// the grant, it waits for that refresh and returns its result instead of
// sending a second request. ctx bounds only the caller's wait: the refresh
// itself runs detached, bounded by Timeout, so a caller that gives up
// cannot leave a rotated refresh token unsaved.
//
// A session without a refresh token is returned unchanged. Errors:
// store.ErrNotFound (also matched by ErrSessionEnded) when the session is
// gone or was ended by a permanent error; ErrGrantRevoked (keep_session)
// with the stripped session; a transient provider error, ErrCircuitOpen,
// ErrRateLimited or ErrBusy together with the session as it stands.
func (r *Refresher) RefreshNow(ctx context.Context, sessionID string) (store.Session, error) {
	r.mu.Lock()
	f := r.flights[sessionID]
	if f == nil {
		f = &flight{done: make(chan struct{})}
		r.flights[sessionID] = f
		go r.runFlight(context.WithoutCancel(ctx), sessionID, f)
	}
	f.waiters++
	r.mu.Unlock()
	select {
	case <-ctx.Done():
		r.mu.Lock()
		f.waiters--
		r.mu.Unlock()
		return store.Session{}, ctx.Err()
	case <-f.done:
		return cloneSession(f.s), f.err
	}
}

func (r *Refresher) runFlight(ctx context.Context, id string, f *flight) {
	ctx, cancel := context.WithTimeout(ctx, r.lease+r.timeout)
	defer cancel()
	f.s, f.err = r.refreshNow(ctx, id)
	r.mu.Lock()
	delete(r.flights, id)
	r.mu.Unlock()
	close(f.done)
}

// WaitOnDemand waits until the on-demand refreshes under way (which run
// detached from their callers) have finished, or ctx ends. A process calls
// it before closing the store: a refresh cut off after the provider
// rotated the token would lose the new one.
func (r *Refresher) WaitOnDemand(ctx context.Context) error {
	for {
		r.mu.Lock()
		pending := make([]chan struct{}, 0, len(r.flights))
		for _, f := range r.flights {
			pending = append(pending, f.done)
		}
		r.mu.Unlock()
		if len(pending) == 0 {
			return nil
		}
		for _, done := range pending {
			select {
			case <-done:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
}

// flightWaiters reports how many callers wait on the flight for id (tests).
func (r *Refresher) flightWaiters(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if f := r.flights[id]; f != nil {
		return f.waiters
	}
	return 0
}

func (r *Refresher) refreshNow(ctx context.Context, id string) (store.Session, error) {
	for attempt := 0; ; attempt++ {
		cur, err := r.store.GetSession(ctx, id)
		if err != nil {
			return store.Session{}, err
		}
		if len(cur.RefreshTokenSealed) == 0 {
			return cur, nil
		}
		if _, held := intervalHolds(cur, r.providerState(cur.Provider).minInterval, r.now()); held {
			// The provider's minimum interval has not passed: the
			// current token is the answer (it may have lapsed).
			return cur, nil
		}
		if done := r.activeChan(id); done != nil {
			// This process's loop is refreshing the grant right now.
			after, retry, err := r.awaitOwnLoop(ctx, id, cur, done, attempt)
			if !retry {
				return after, err
			}
			continue // given back untried: claim it ourselves
		}
		claimed, err := r.store.ClaimGrant(ctx, id, r.onDemandOwner, r.now(), r.lease)
		if errors.Is(err, store.ErrLeased) {
			after, retry, err := r.awaitOtherLease(ctx, id, cur, attempt)
			if !retry {
				return after, err
			}
			continue // the lease ran out, or the grant came back untried: claim it ourselves
		}
		if err != nil {
			return store.Session{}, err
		}
		return r.refreshClaimed(ctx, id, cur, claimed)
	}
}

// awaitOwnLoop waits for this process's loop to finish its refresh of the
// grant (done) and reports its outcome; retry says the grant came back
// untried and may be claimed.
func (r *Refresher) awaitOwnLoop(ctx context.Context, id string, cur store.Session, done <-chan struct{}, attempt int) (store.Session, bool, error) {
	if r.testWaiting != nil {
		r.testWaiting(id)
	}
	select {
	case <-done:
	case <-ctx.Done():
		return cur, false, ctx.Err()
	}
	after, err := r.store.GetSession(ctx, id)
	if err != nil {
		return after, false, err
	}
	untried, err := outcomeOfOtherAttempt(cur, after)
	if !untried {
		return after, false, err
	}
	if attempt >= 2 {
		return after, false, ErrBusy
	}
	return after, true, nil
}

// awaitOtherLease waits while another owner holds the grant's lease and
// reports that owner's outcome; retry says the lease ran out or the grant
// came back untried, so it may be claimed.
func (r *Refresher) awaitOtherLease(ctx context.Context, id string, cur store.Session, attempt int) (store.Session, bool, error) {
	if attempt >= 2 {
		return cur, false, ErrBusy
	}
	if r.testWaiting != nil {
		r.testWaiting(id)
	}
	after, released, err := r.awaitLease(ctx, id)
	if err != nil {
		return after, false, err
	}
	if released {
		if untried, err := outcomeOfOtherAttempt(cur, after); !untried {
			return after, false, err
		}
	}
	return after, true, nil
}

// refreshClaimed refreshes a grant this call has just claimed.
func (r *Refresher) refreshClaimed(ctx context.Context, id string, cur, claimed store.Session) (store.Session, error) {
	if done := r.markActive(id); done != nil {
		defer r.unmarkActive(id, done)
	}
	restore := r.now() // unknown: due now, the loop will take it
	if claimed.Version == cur.Version+1 {
		restore = cur.RefreshAt
	}
	// The claim starts a lease: the refresh gets the whole of it, as
	// the loop's do, whatever the waits before the claim used of the
	// flight's time. Otherwise a request sent late could rotate the
	// token and leave no time to store the new one.
	gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.lease)
	defer cancel()
	out := r.refreshGrant(gctx, job{s: claimed, onDemand: true, restoreAt: restore})
	return out.s, out.err
}

// outcomeOfOtherAttempt tells, from the row before and after another
// worker's attempt, what that attempt came to: new tokens (nil), revoked
// provider tokens (ErrGrantRevoked), a failure counted for backoff
// (ErrRetryScheduled), or none of these: the grant was given back untried
// (busy, circuit open, rate limited), and the caller may claim it itself.
func outcomeOfOtherAttempt(before, after store.Session) (untried bool, err error) {
	switch {
	case len(after.RefreshTokenSealed) == 0:
		return false, ErrGrantRevoked
	case !bytes.Equal(after.AccessTokenSealed, before.AccessTokenSealed) ||
		!bytes.Equal(after.RefreshTokenSealed, before.RefreshTokenSealed):
		return false, nil
	case after.RefreshFailures > before.RefreshFailures:
		return false, ErrRetryScheduled
	}
	return true, nil
}

// awaitLease polls the session, with short growing pauses, until whoever
// holds its lease releases it (released=true, s is the fresh row) or the
// lease runs out (released=false).
func (r *Refresher) awaitLease(ctx context.Context, id string) (s store.Session, released bool, err error) {
	delay := 20 * time.Millisecond
	for {
		t := r.clock.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return store.Session{}, false, ctx.Err()
		case <-t.C():
		}
		s, err := r.store.GetSession(ctx, id)
		if err != nil {
			return store.Session{}, false, err
		}
		if s.LeaseOwner == "" {
			return s, true, nil
		}
		if !r.now().Before(s.LeaseUntil) {
			return s, false, nil
		}
		delay = min(2*delay, 500*time.Millisecond)
	}
}

// cloneSession copies the byte slices so callers sharing a flight cannot
// affect one another.
func cloneSession(s store.Session) store.Session {
	s.SecretHash = slices.Clone(s.SecretHash)
	s.AccessTokenSealed = slices.Clone(s.AccessTokenSealed)
	s.RefreshTokenSealed = slices.Clone(s.RefreshTokenSealed)
	return s
}
