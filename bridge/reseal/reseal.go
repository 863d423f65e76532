// Package reseal re-encrypts every sealed provider token with the first
// configured token key (`sessionbridge keys reseal`), so that an operator
// can drop an old key. It is safe while serve and refresh run: each row is
// rewritten with a version-checked compare-and-swap, a row another writer
// changed in between is re-read and tried again, and a row whose grant is
// leased (a refresh in flight) is left to that refresh, which seals its
// new tokens with the first key anyway, and retried after its lease.
package reseal

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/seal"
	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// Defaults of Options.
const (
	DefaultBatch    = 500
	DefaultAttempts = 5
	// DefaultLeasedRetry is how long a run waits for leased rows to be
	// released before it gives up on them (they are counted as Leased).
	DefaultLeasedRetry = 2 * time.Minute
)

// Options tune a Run.
type Options struct {
	Batch int // rows read per page; default DefaultBatch
	// Progress, when set, is called after each page with the counts so far.
	Progress func(Result)
	Now      func() time.Time
	// LeasedRetry bounds the wait for leased rows; default DefaultLeasedRetry.
	LeasedRetry time.Duration
	// Pause between passes over leased rows; default 1s.
	Pause time.Duration
}

// Result counts what a run saw and did.
type Result struct {
	Scanned  int // rows read
	Resealed int // rows rewritten with the first key
	Current  int // rows already sealed with the first key (or holding no token)
	Gone     int // rows deleted while the run went on
	Leased   int // rows still leased by a refresh when the run gave up on them
	// Unreadable rows hold a token no configured key opens (its key was
	// already dropped, or the row was tampered with); they are left as is.
	Unreadable int
}

// Run re-seals every session's tokens with keys' first key.
func Run(ctx context.Context, st store.Store, keys *seal.Keyring, o Options) (Result, error) {
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.LeasedRetry <= 0 {
		o.LeasedRetry = DefaultLeasedRetry
	}
	if o.Pause <= 0 {
		o.Pause = time.Second
	}
	r := &run{st: st, keys: keys, o: o}
	leased, err := r.pass(ctx)
	if err != nil {
		return r.res, err
	}
	deadline := o.Now().Add(o.LeasedRetry)
	for len(leased) > 0 && o.Now().Before(deadline) {
		if err := sleep(ctx, o.Pause); err != nil {
			return r.res, err
		}
		var still []string
		for _, id := range leased {
			outcome, err := r.one(ctx, id, nil)
			if err != nil {
				return r.res, err
			}
			if outcome == leasedRow {
				still = append(still, id)
			}
		}
		leased = still
	}
	r.res.Leased = len(leased)
	return r.res, nil
}

// Count reports, without writing, how many sessions hold a token sealed
// with a key other than the first (check --online).
func Count(ctx context.Context, st store.Admin, keys *seal.Keyring, batch int) (stale, scanned int, err error) {
	if batch <= 0 {
		batch = DefaultBatch
	}
	after := ""
	for {
		page, err := st.ScanSessions(ctx, store.SessionFilter{}, after, batch)
		if err != nil || len(page) == 0 {
			return stale, scanned, err
		}
		for _, s := range page {
			scanned++
			if NeedsReseal(keys, s) {
				stale++
			}
		}
		after = page[len(page)-1].ID
	}
}

// NeedsReseal reports whether a session holds a token sealed with a key
// that is not the first.
func NeedsReseal(keys *seal.Keyring, s store.Session) bool {
	return keys.NeedsReseal(s.AccessTokenSealed) || keys.NeedsReseal(s.RefreshTokenSealed)
}

type outcome int

const (
	current outcome = iota
	resealed
	gone
	leasedRow
)

type run struct {
	st   store.Store
	keys *seal.Keyring
	o    Options
	res  Result
}

// pass walks every row once and returns the IDs of leased rows.
func (r *run) pass(ctx context.Context) ([]string, error) {
	var leased []string
	after := ""
	for {
		page, err := r.st.ScanSessions(ctx, store.SessionFilter{}, after, r.o.Batch)
		if err != nil {
			return leased, fmt.Errorf("read sessions: %w", err)
		}
		if len(page) == 0 {
			return leased, nil
		}
		for i := range page {
			r.res.Scanned++
			out, err := r.one(ctx, page[i].ID, &page[i])
			if err != nil {
				return leased, err
			}
			if out == leasedRow {
				leased = append(leased, page[i].ID)
			}
		}
		after = page[len(page)-1].ID
		if r.o.Progress != nil {
			r.o.Progress(r.res)
		}
	}
}

// one re-seals one row: from the given copy first, re-reading it after a
// lost compare-and-swap.
func (r *run) one(ctx context.Context, id string, s *store.Session) (outcome, error) {
	for attempt := 0; attempt < DefaultAttempts; attempt++ {
		if s == nil || attempt > 0 {
			fresh, err := r.st.GetSession(ctx, id)
			if errors.Is(err, store.ErrNotFound) {
				r.res.Gone++
				return gone, nil
			}
			if err != nil {
				return 0, fmt.Errorf("read session %s: %w", id, err)
			}
			s = &fresh
		}
		if !NeedsReseal(r.keys, *s) {
			r.res.Current++
			return current, nil
		}
		if s.LeaseUntil.After(r.o.Now()) {
			return leasedRow, nil // a refresh is in flight: it writes newly sealed tokens itself
		}
		if err := r.rewrite(s); errors.Is(err, seal.ErrUnsealable) {
			r.res.Unreadable++
			return current, nil
		} else if err != nil {
			return 0, err
		}
		err := r.st.CompareAndSwapSession(ctx, s)
		switch {
		case err == nil:
			r.res.Resealed++
			return resealed, nil
		case errors.Is(err, store.ErrNotFound):
			r.res.Gone++
			return gone, nil
		case !errors.Is(err, store.ErrConflict):
			return 0, fmt.Errorf("write session %s: %w", id, err)
		}
	}
	return leasedRow, nil // kept changing under us: try it again later
}

// rewrite opens both tokens and seals them again with the first key.
func (r *run) rewrite(s *store.Session) error {
	for _, c := range []struct {
		column string
		value  *[]byte
	}{{"access", &s.AccessTokenSealed}, {"refresh", &s.RefreshTokenSealed}} {
		if !r.keys.NeedsReseal(*c.value) {
			continue
		}
		aad := seal.AAD(s.ID, c.column)
		plain, err := r.keys.Open(*c.value, aad)
		if err != nil {
			return fmt.Errorf("session %s: %s token: %w", s.ID, c.column, err)
		}
		if *c.value, err = r.keys.Seal(plain, aad); err != nil {
			return err
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
