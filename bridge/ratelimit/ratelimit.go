// Package ratelimit counts requests per client in fixed time windows, the
// model Appwrite's abuse limits use: at most Limit hits per key in each
// window, windows aligned to multiples of Window since the Unix epoch, so
// every client sees the same reset time (X-RateLimit-Reset) and a window's
// counts can all be dropped at once when it ends.
//
// Memory is bounded: a Limiter tracks at most MaxKeys keys per window.
// When a new key arrives at a full table an arbitrary tracked key is
// forgotten (within one window all entries are equally old, so there is no
// better victim); the alternatives, refusing or never counting new keys,
// would let a flood of addresses lock out or exempt everyone else.
package ratelimit

import (
	"sync"
	"time"
)

// DefaultMaxKeys bounds the keys one Limiter tracks (about 100 bytes each).
const DefaultMaxKeys = 65536

// Decision is the outcome of one hit, with what the X-RateLimit-* headers
// report.
type Decision struct {
	Allowed   bool
	Limit     int
	Remaining int
	// Reset is when the current window ends and the counts start over.
	Reset time.Time
	// FirstRefusal is set on the first refused hit of a key in a window,
	// so a caller can log a client hammering the limit once, not once
	// per request.
	FirstRefusal bool
}

// Limiter is a fixed-window counter per key. It is safe for concurrent use.
type Limiter struct {
	limit   int
	window  time.Duration
	maxKeys int
	now     func() time.Time

	mu     sync.Mutex
	index  int64 // the current window: UnixNano / window
	counts map[string]int
}

// New returns a Limiter allowing limit hits per key per window. limit and
// window must be positive; maxKeys <= 0 takes DefaultMaxKeys; now nil is
// time.Now.
func New(limit int, window time.Duration, maxKeys int, now func() time.Time) *Limiter {
	if limit < 1 {
		limit = 1
	}
	if window <= 0 {
		window = time.Hour
	}
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	if now == nil {
		now = time.Now
	}
	return &Limiter{limit: limit, window: window, maxKeys: maxKeys, now: now, counts: map[string]int{}}
}

// Limit is the number of hits allowed per window.
func (l *Limiter) Limit() int { return l.limit }

// Window is the length of a window.
func (l *Limiter) Window() time.Duration { return l.window }

// Allow records one hit for key and says whether it is within the limit.
// Refused hits are not counted, so a client that keeps knocking is let in
// again as soon as the window ends.
func (l *Limiter) Allow(key string) Decision {
	index := l.now().UnixNano() / int64(l.window)
	l.mu.Lock()
	defer l.mu.Unlock()
	if index != l.index {
		// A new window: every count belongs to the old one. A fresh map
		// (not clear) also returns the memory of a past spike.
		l.index = index
		l.counts = make(map[string]int, min(len(l.counts), l.maxKeys))
	}
	d := Decision{Limit: l.limit, Reset: time.Unix(0, (index+1)*int64(l.window))}
	n, tracked := l.counts[key]
	if n >= l.limit {
		if n == l.limit {
			l.counts[key] = n + 1 // marks the refusal as seen
			d.FirstRefusal = true
		}
		return d
	}
	if !tracked && len(l.counts) >= l.maxKeys {
		for victim := range l.counts {
			delete(l.counts, victim)
			break
		}
	}
	n++
	l.counts[key] = n
	d.Allowed, d.Remaining = true, l.limit-n
	return d
}

// Len reports how many keys are tracked in the current window.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.counts)
}
