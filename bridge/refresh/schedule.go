package refresh

import "time"

const (
	// maxScheduleJitter caps how much earlier than its nominal time a
	// grant is scheduled, so tokens issued in a burst do not all come due
	// in the same instant.
	maxScheduleJitter = 30 * time.Second
	// minRefreshInterval keeps a provider that issues tokens with a tiny
	// or zero lifetime from being asked again in a tight loop.
	minRefreshInterval = time.Second

	backoffBase = time.Second
	backoffCap  = 5 * time.Minute
	// maxRetryAfter bounds a provider's Retry-After so an absurd value
	// cannot overflow the schedule; a day is far beyond any real answer.
	maxRetryAfter = 24 * time.Hour
	// overdueAfter: a due grant older than this counts as overdue.
	overdueAfter = 30 * time.Second
)

// Schedule returns when a token issued at `issued` and expiring at
// `expiry` should be refreshed: `before` ahead of expiry, but never
// earlier than halfway through its lifetime (a short-lived token would
// otherwise be refreshed the moment it is issued), then moved earlier by
// jitter(max) with max = 5% of the lifetime capped at 30s, so a burst of
// logins spreads out. A zero expiry yields the zero time: without an
// expiry there is nothing to refresh ahead of. A nil jitter means none.
// Callers give the zero time, too, when there is no refresh token.
func Schedule(issued, expiry time.Time, before time.Duration, jitter func(time.Duration) time.Duration) time.Time {
	if expiry.IsZero() {
		return time.Time{}
	}
	life := expiry.Sub(issued)
	if life <= 0 {
		return issued
	}
	at := expiry.Add(-before)
	if half := issued.Add(life / 2); at.Before(half) {
		at = half
	}
	maxJ := min(life/20, maxScheduleJitter)
	if jitter != nil && maxJ > 0 {
		j := jitter(maxJ)
		if j > 0 && j <= maxJ {
			at = at.Add(-j)
		}
	}
	return at
}

// backoff is full-jitter exponential backoff: a uniform delay in
// [0, min(cap, base*2^failures)), failures counting earlier consecutive
// failures of the grant.
func backoff(failures int, jitter func(time.Duration) time.Duration) time.Duration {
	ceil := backoffCap
	if failures < 20 {
		ceil = min(backoffCap, backoffBase<<max(failures, 0))
	}
	d := jitter(ceil)
	if d < 0 || d > ceil {
		d = ceil
	}
	return d
}

// nextRefresh is Schedule for a token just obtained at now, with the
// refresher's floor against refreshing in a tight loop.
func (r *Refresher) nextRefresh(now, expiry time.Time, hasRefreshToken bool) time.Time {
	if !hasRefreshToken || expiry.IsZero() {
		return time.Time{}
	}
	at := Schedule(now, expiry, r.beforeExpiry, r.jitter)
	if floor := now.Add(minRefreshInterval); at.Before(floor) {
		at = floor
	}
	return at
}
