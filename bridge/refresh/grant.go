package refresh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/oauth2"

	"github.com/sessionbridge/sessionbridge/bridge/lifecycle"
	"github.com/sessionbridge/sessionbridge/bridge/seal"
	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/providers"
)

// job is one claimed grant. The claimed row is the re-read: the claim
// returned it as written, with the version the final write must match.
type job struct {
	s store.Session
	// stop is closed at shutdown; a job that has not sent its request yet
	// gives its lease back. nil for on-demand jobs.
	stop <-chan struct{}
	// onDemand jobs (RefreshNow) claimed a grant that was not necessarily
	// due; when they give the lease back unused, RefreshAt goes back to
	// restoreAt (zero: never).
	onDemand  bool
	restoreAt time.Time
	// released, if set, is called once the token request is done (or
	// will not be sent) and the slots are given back: the loop may claim more.
	released func()
}

// outcome is what happened to a job: the row as last written (zero when
// the session is gone) and, when the refresh did not succeed, why.
type outcome struct {
	s   store.Session
	err error
}

// send makes the one token request and hands its answer on.
func (r *Refresher) send(ctx context.Context, g grant) outcome {
	s, label, ps := g.s, g.label, g.ps
	now := r.now()
	if !s.AccessTokenExpiry.IsZero() {
		r.metrics.lead.Observe(max(s.AccessTokenExpiry.Sub(now), 0).Seconds())
	}
	rctx, cancel := context.WithTimeout(ctx, r.timeout)
	tok, err := g.p.Refresh(rctx, providers.RefreshRequest{RefreshToken: g.rt, Subject: s.ProviderUID, GrantData: s.GrantData})
	cancel()
	r.metrics.duration.WithLabelValues(label).Observe(r.now().Sub(now).Seconds())
	if err == nil && (tok == nil || tok.AccessToken == "") {
		err = &providers.OAuthError{Description: "token response without access_token"}
	}
	// The breaker and the parking learn the outcome before the slots are
	// freed, so a grant waiting for a slot sees an opened circuit or a
	// parked provider.
	transient := err != nil && !providers.IsPermanent(err)
	if transient {
		if ps.circuit.failure(r.now()) {
			r.metrics.setCircuit(label, true)
			r.log.Warn("refresher: provider circuit opened after repeated failures", "provider", label)
		}
	} else if ps.circuit.success() {
		r.metrics.setCircuit(label, false)
	}
	r.learnParking(ps, label, err)
	g.release()
	switch {
	case err == nil:
		return r.succeeded(ctx, s, label, g.rt, tok)
	case transient:
		return r.failed(ctx, s, label, err)
	case providers.IsMisconfiguration(err):
		return r.misconfigured(ctx, s, label, err)
	default:
		return r.rejected(ctx, s, label, g.rt, err)
	}
}

// configRetry is how long a grant that the configuration cannot serve (its
// provider or its token key is gone) waits before it is looked at again.
// Only another configuration changes the answer (a restart, or another
// process of a rolling deploy), so much sooner would only rewrite rows
// (with the 5-minute backoff cap, 100,000 such grants cost over 600 writes
// a second), and much later would let tokens expire after the fix. A
// session in use is refreshed on read in the meantime.
const configRetry = 15 * time.Minute

func (r *Refresher) afterConfigFix(now time.Time) time.Time {
	return now.Add(configRetry + r.jitter(configRetry/10))
}

// writeMargin is the part of a lease reserved, after the token request's
// Timeout, for storing its result, and the tolerated clock skew between
// processes sharing the store (leases are written and compared with each
// process's own clock). A lease lasts 2*Timeout+writeMargin: up to
// Timeout waiting for slots, the rate limiter or the breaker, then the
// request, then the write.
const writeMargin = 10 * time.Second

// sendBudget is how much longer a claimed grant may wait before its
// request must be sent (negative: it must not be sent any more), so that
// the request (at most Timeout) and the write of its result (writeMargin)
// both end before the lease does.
func (r *Refresher) sendBudget(s store.Session, now time.Time) time.Duration {
	return s.LeaseUntil.Sub(now) - r.timeout - writeMargin
}

type waitResult int

const (
	acquired waitResult = iota
	timedOut
	stopped
)

// wait acquires a slot of sem (or, with a nil sem, just waits d) for at
// most d, giving up early when stop closes.
func (r *Refresher) wait(sem chan struct{}, d time.Duration, stop <-chan struct{}) waitResult {
	if sem != nil {
		select {
		case sem <- struct{}{}:
			return acquired
		default:
		}
	}
	if d <= 0 {
		return timedOut
	}
	t := r.clock.NewTimer(d)
	defer t.Stop()
	select {
	case sem <- struct{}{}: // never ready when sem is nil
		return acquired
	case <-t.C():
		if sem == nil {
			return acquired
		}
		return timedOut
	case <-stop:
		return stopped
	}
}

// succeeded stores the new tokens. This conditional write is the one
// durable write of a rotated refresh token, and it happens before anyone
// can use the new access token. Expire is never touched.
func (r *Refresher) succeeded(ctx context.Context, s store.Session, label, rt string, tok *providers.Token) outcome {
	now := r.now()
	newRT := tok.RefreshToken
	if newRT == "" {
		newRT = rt // the provider kept the grant's refresh token
	}
	at, err1 := r.keys.Seal(tok.AccessToken, seal.AAD(s.ID, "access"))
	rts, err2 := r.keys.Seal(newRT, seal.AAD(s.ID, "refresh"))
	if err := errors.Join(err1, err2); err != nil {
		r.metrics.result(label, resultTransient)
		r.log.Error("refresher: sealing refreshed tokens failed", "session", s.ID, "provider", label, "err", err)
		return r.reschedule(ctx, s, now.Add(backoff(s.RefreshFailures, r.jitter)), true, err)
	}
	next := r.nextRefresh(now, tok.Expiry, true)
	interval := r.providerState(label).minInterval
	if interval > 0 && !next.IsZero() {
		next = maxTime(next, now.Add(interval))
	}
	if tok.RefreshToken != "" && tok.RefreshToken != rt {
		// A rotated refresh token exists only in this process until it
		// is written: keep trying past the lease (a store outage can
		// outlast it). The version check keeps a late write safe, and
		// retrying every couple of seconds wins the race against other
		// claimers as soon as the store is back.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rotatedWriteBudget)
		defer cancel()
		ctx = wctx
	}
	w, err := r.write(ctx, s, func(x *store.Session) {
		x.AccessTokenSealed, x.RefreshTokenSealed = at, rts
		x.AccessTokenExpiry = tok.Expiry
		x.RefreshedAt = now
		x.RefreshAt = next
		x.RefreshFailures = 0
		x.LeaseOwner, x.LeaseUntil = "", time.Time{}
		x.UpdatedAt = now
	})
	if err != nil {
		r.metrics.result(label, resultConflict)
		msg := "refresher: refreshed tokens dropped: the session was deleted or changed meanwhile"
		if !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
			msg = "refresher: refreshed tokens could not be stored before the lease ran out"
		}
		r.log.Warn(msg, "session", s.ID, "provider", label, "err", err)
		return outcome{err: err}
	}
	r.metrics.result(label, resultSuccess)
	// Measured when the new token is stored, the moment it becomes
	// usable: an old token that ran out while the request was in flight
	// (or while it waited for a slot) did expire before its refresh.
	if expiredBeforeRefresh(s, interval, r.now()) {
		r.metrics.expired.WithLabelValues(label).Inc()
	}
	r.log.Debug("refresher: token refreshed", "session", s.ID, "provider", label,
		"rotated", tok.RefreshToken != "" && tok.RefreshToken != rt, "next", next)
	r.Notify(next)
	return outcome{s: w}
}

// failed handles a transient error: the session and its still-valid token
// stay; the grant is retried after max(Retry-After, full-jitter backoff),
// even if that is after the access token's expiry.
func (r *Refresher) failed(ctx context.Context, s store.Session, label string, err error) outcome {
	now := r.now()
	delay := backoff(s.RefreshFailures, r.jitter)
	if ra := min(providers.RetryAfter(err), maxRetryAfter); ra > delay {
		delay = ra
	}
	r.metrics.result(label, resultTransient)
	code, status := errorCode(err)
	r.log.Warn("refresher: token refresh failed, will retry", "session", s.ID, "provider", label,
		"error_code", code, "http_status", status, "failures", s.RefreshFailures+1, "retry_in", delay, "err", err)
	return r.reschedule(ctx, s, now.Add(delay), true, err)
}

// rejected handles a permanent error: the grant is dead, unless another
// process rotated it meanwhile (then the rejected token was already
// superseded and the session is fine).
func (r *Refresher) rejected(ctx context.Context, s store.Session, label, rt string, perr error) outcome {
	code, status := errorCode(perr)
	cur, err := r.store.GetSession(ctx, s.ID)
	if errors.Is(err, store.ErrNotFound) {
		r.metrics.result(label, resultConflict)
		return outcome{err: fmt.Errorf("%w (%w)", ErrSessionEnded, perr)}
	}
	if err != nil {
		r.metrics.result(label, resultPermanent)
		r.log.Error("refresher: grant rejected but the session cannot be re-read", "session", s.ID, "provider", label, "err", err)
		// Counted as a failure, so that a RefreshNow waiting on this
		// grant takes it for an attempt that failed, not one never made.
		return r.reschedule(ctx, s, r.now().Add(backoff(s.RefreshFailures, r.jitter)), true, perr)
	}
	if !r.sameRefreshToken(cur, rt) {
		r.metrics.result(label, resultConflict)
		r.log.Info("refresher: grant rejected, but another refresher rotated it meanwhile; session kept",
			"session", s.ID, "provider", label, "error_code", code)
		return outcome{s: cur}
	}
	r.metrics.result(label, resultPermanent)
	r.ended.Ended(label, lifecycle.RefreshRejected, 1)
	action := "session ended"
	if r.keepSession {
		action = "provider tokens cleared"
	}
	r.log.Warn("refresher: grant rejected permanently; "+action, "session", s.ID, "provider", label,
		"error_code", code, "http_status", status)
	now := r.now()
	w, err := r.write(ctx, cur, func(x *store.Session) {
		x.AccessTokenSealed, x.RefreshTokenSealed = nil, nil
		x.AccessTokenExpiry, x.RefreshAt = time.Time{}, time.Time{}
		x.RefreshFailures = 0
		x.LeaseOwner, x.LeaseUntil = "", time.Time{}
		x.UpdatedAt = now
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		r.log.Warn("refresher: could not record the rejected grant", "session", s.ID, "provider", label, "err", err)
		return outcome{s: cur, err: err}
	}
	if r.keepSession {
		return outcome{s: w, err: fmt.Errorf("%w (%w)", ErrGrantRevoked, perr)}
	}
	if err := r.store.DeleteSession(ctx, s.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		r.log.Error("refresher: could not delete the session of a rejected grant", "session", s.ID, "err", err)
	}
	return outcome{err: fmt.Errorf("%w (%w)", ErrSessionEnded, perr)}
}

// sameRefreshToken reports whether cur still holds the refresh token rt.
func (r *Refresher) sameRefreshToken(cur store.Session, rt string) bool {
	got, err := r.keys.Open(cur.RefreshTokenSealed, seal.AAD(cur.ID, "refresh"))
	if err != nil {
		return false
	}
	return got == rt
}

// giveBack releases a lease without having sent a request: RefreshAt goes
// to at (background) or back to what it was before an on-demand claim.
func (r *Refresher) giveBack(ctx context.Context, j job, at time.Time, why error) outcome {
	if j.onDemand {
		at = j.restoreAt
	}
	return r.reschedule(ctx, j.s, at, false, why)
}

// reschedule clears the lease and sets RefreshAt (zero: never), counting a
// failure when failure is set.
func (r *Refresher) reschedule(ctx context.Context, s store.Session, at time.Time, failure bool, why error) outcome {
	w, err := r.write(ctx, s, func(x *store.Session) {
		x.RefreshAt = at
		if failure {
			x.RefreshFailures++
		}
		x.LeaseOwner, x.LeaseUntil = "", time.Time{}
	})
	if err != nil {
		r.log.Warn("refresher: could not release grant", "session", s.ID, "err", err)
		return outcome{err: errors.Join(why, err)}
	}
	r.Notify(at)
	return outcome{s: w, err: why}
}

// maxMerges bounds how often a write is re-applied onto a row that changed
// for an unrelated reason.
const maxMerges = 3

// maxWriteRetryDelay caps the pause between retries of a write that failed
// for a reason other than a conflict (the database is unreachable or busy).
const maxWriteRetryDelay = 2 * time.Second

// rotatedWriteBudget is how long the write of a rotated refresh token is
// retried while the store fails, lease or not.
const rotatedWriteBudget = 5 * time.Minute

// writeRetryDelay is 50ms, 200ms, 800ms, then maxWriteRetryDelay.
func writeRetryDelay(attempt int) time.Duration {
	return min(50*time.Millisecond<<(2*min(attempt, 3)), maxWriteRetryDelay)
}

// ownsLease reports whether owner is one of this process's lease owners
// (the loop's or the on-demand refreshes').
func (r *Refresher) ownsLease(owner string) bool {
	return owner != "" && (owner == r.owner || owner == r.onDemandOwner)
}

// write applies change to the claimed row and compare-and-swaps it. When
// the row changed meanwhile but is still leased by us with the same
// refresh token (e.g. PATCH slid Expire), the change is re-applied to the
// fresh row: only the write is repeated, never the token request. A row
// that was deleted, revoked or rotated elsewhere is left alone.
func (r *Refresher) write(ctx context.Context, base store.Session, change func(*store.Session)) (store.Session, error) {
	s := base
	change(&s)
	err := r.cas(ctx, &s)
	for i := 0; i < maxMerges && errors.Is(err, store.ErrConflict); i++ {
		cur, gerr := r.store.GetSession(ctx, base.ID)
		if gerr != nil {
			return store.Session{}, gerr
		}
		if !bytes.Equal(s.RefreshTokenSealed, base.RefreshTokenSealed) && bytes.Equal(cur.RefreshTokenSealed, s.RefreshTokenSealed) {
			// Our own write landed although its answer was lost (a
			// retried write then found its own version): sealed tokens
			// are unique, nobody else wrote this one.
			return cur, nil
		}
		// Re-apply only onto a row this process still holds with the same
		// refresh token. "This process": when a write outlasts its lease,
		// this process's loop may claim the row again, and dispatch
		// leaves that claim to the worker still on it (markActive); the
		// lease moved, but nobody else can have sent the token.
		if !r.ownsLease(cur.LeaseOwner) || !bytes.Equal(cur.RefreshTokenSealed, base.RefreshTokenSealed) {
			return cur, err
		}
		// A leased row's RefreshAt equals its LeaseUntil; a zero one was
		// unscheduled meanwhile (its user was blocked): store the tokens
		// but keep it off the schedule.
		unscheduled := cur.RefreshAt.IsZero()
		s = cur
		change(&s)
		if unscheduled {
			s.RefreshAt = time.Time{}
		}
		err = r.cas(ctx, &s)
	}
	if err != nil {
		return store.Session{}, err
	}
	return s, nil
}

// cas is CompareAndSwapSession, repeated while the store fails for a
// reason other than a conflict or a missing row, for as long as ctx (the
// lease) lasts: until written, a rotated refresh token exists only in this
// process's memory, and dropping it would make the next refresh replay the
// superseded one (the provider would then revoke the grant).
func (r *Refresher) cas(ctx context.Context, s *store.Session) error {
	err := r.store.CompareAndSwapSession(ctx, s)
	for i := 0; err != nil && ctx.Err() == nil &&
		!errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound); i++ {
		r.log.Warn("refresher: store write failed, retrying", "session", s.ID, "err", err)
		t := r.clock.NewTimer(writeRetryDelay(i))
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C():
		}
		err = r.store.CompareAndSwapSession(ctx, s)
	}
	return err
}

// errorCode names a refresh error for logs and metric labels: the OAuth
// error code, "verification_failed", or "" for network-level failures.
func errorCode(err error) (code string, httpStatus int) {
	var oe *providers.OAuthError
	if errors.As(err, &oe) {
		return oe.Code, oe.HTTPStatus
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		return re.ErrorCode, status
	}
	var ve *providers.VerificationError
	if errors.As(err, &ve) {
		return "verification_failed", 0
	}
	return "", 0
}
