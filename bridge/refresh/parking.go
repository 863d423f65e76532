package refresh

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/providers"
)

// Parking: an operator's mistake must not end sessions.
//
// invalid_client, unauthorized_client, unsupported_grant_type,
// invalid_scope, invalid_request and a refreshed ID token that fails
// verification say that the bridge's client or configuration is broken
// (an expired client secret, a rotation in the wrong order, an edited
// issuer), not that the grant is dead. Such an answer parks the provider:
// no further refresh is sent for it except one probe every ParkProbeEvery,
// sessions and their tokens stay, the state is logged once per change and
// exposed (Parked, the sessionbridge_provider_misconfigured gauge). A probe
// that gets an answer about the grant (success or invalid_grant) shows the
// client works again and resumes the provider; a restart with a fixed
// configuration starts unparked.

const (
	// ParkProbeEvery is how often a parked provider is probed with one grant.
	ParkProbeEvery = 2 * time.Minute
	// parkedRecheck is how far a parked provider's grants are pushed
	// (plus up to half again as jitter), so that 100,000 parked grants are
	// not all rewritten every probe period; any of them coming due after
	// the probe time becomes the probe.
	parkedRecheck = 5 * time.Minute
)

// ErrProviderParked: the provider's refreshes are parked because its client
// or configuration is broken; no request was sent, the session is kept.
// It matches ErrNotConfigured: only a working configuration changes it.
var ErrProviderParked = fmt.Errorf("refresh: the provider's refreshes are parked because its client or configuration was refused: %w", ErrNotConfigured)

// parking is one provider's parked state.
type parking struct {
	mu        sync.Mutex
	parked    bool
	reason    string    // the error code that parked it
	nextProbe time.Time // when the next probe may go out
	probing   bool
}

// admit reports whether a request may be sent for a grant of the
// provider: always while it is not parked; while it is, false (with when
// to look again) unless it is time for the probe, which the caller then
// is (probe=true) and must resolve (learnParking, or endProbe when it
// sends nothing).
func (p *parking) admit(now time.Time) (ok bool, next time.Time, probe bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.parked {
		return true, time.Time{}, false
	}
	if p.probing || now.Before(p.nextProbe) {
		return false, maxTime(p.nextProbe, now), false
	}
	p.probing, p.nextProbe = true, now.Add(ParkProbeEvery)
	return true, time.Time{}, true
}

// park records a misconfiguration answer; it returns true when this
// parked a provider that was not parked.
func (p *parking) park(now time.Time, reason string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	was := p.parked
	p.parked, p.reason, p.probing = true, reason, false
	if !was {
		p.nextProbe = now.Add(ParkProbeEvery)
	}
	return !was
}

// unpark records an answer that shows the client works; it returns true
// when the provider was parked.
func (p *parking) unpark() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	was := p.parked
	p.parked, p.reason, p.probing = false, "", false
	return was
}

// endProbe gives the probe slot back after an answer that proved nothing
// (a transient failure, or no request sent).
func (p *parking) endProbe() {
	p.mu.Lock()
	p.probing = false
	p.mu.Unlock()
}

func (p *parking) state() (bool, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.parked, p.reason
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Parked returns the providers whose refreshes are parked, each with the
// error code that parked it (readiness detail).
func (r *Refresher) Parked() map[string]string {
	r.mu.Lock()
	keys := make([]string, 0, len(r.providerStates))
	for k := range r.providerStates {
		keys = append(keys, k)
	}
	r.mu.Unlock()
	sort.Strings(keys)
	out := map[string]string{}
	for _, k := range keys {
		if parked, reason := r.providerState(k).parking.state(); parked {
			out[k] = reason
		}
	}
	return out
}

// intervalHolds reports whether s was refreshed (or logged in) less than
// min ago, and until when.
func intervalHolds(s store.Session, interval time.Duration, now time.Time) (time.Time, bool) {
	if interval <= 0 || s.RefreshedAt.IsZero() {
		return time.Time{}, false
	}
	until := s.RefreshedAt.Add(interval)
	return until, now.Before(until)
}

// learnParking updates the provider's parked state from a token request's
// answer: a misconfiguration parks it, an answer about the grant (success
// or invalid_grant) resumes it, anything else ends a probe unresolved.
func (r *Refresher) learnParking(ps *providerState, label string, err error) {
	switch {
	case err != nil && providers.IsMisconfiguration(err):
		code, status := errorCode(err)
		if ps.parking.park(r.now(), code) {
			r.metrics.setParked(label, true)
			r.log.Error("refresher: the provider refused the bridge's client or configuration; its refreshes are parked and sessions are kept until a probe succeeds or the configuration is fixed",
				"provider", label, "error_code", code, "http_status", status, "probe_every", ParkProbeEvery, "err", err)
		}
	case err == nil || providers.IsGrantDead(err):
		if ps.parking.unpark() {
			r.metrics.setParked(label, false)
			r.log.Error("refresher: the provider accepts the bridge's client again; refreshes resumed", "provider", label)
		}
	default:
		ps.parking.endProbe()
	}
}

// misconfigured handles a misconfiguration answer for one grant: the
// session and its tokens stay; the grant waits for the provider to resume.
func (r *Refresher) misconfigured(ctx context.Context, s store.Session, label string, err error) outcome {
	r.metrics.result(label, resultMisconfigured)
	now := r.now()
	at := now.Add(parkedRecheck + r.jitter(parkedRecheck/2))
	return r.reschedule(ctx, s, at, true, fmt.Errorf("%w: %w", ErrProviderParked, err))
}

// expiredBeforeRefresh reports whether s's access token ran out before its
// refresh succeeded at now, not counting a token that lapsed because the
// provider's minimum interval forbade refreshing it sooner (contract §7
// allows that lapse).
func expiredBeforeRefresh(s store.Session, interval time.Duration, now time.Time) bool {
	if s.AccessTokenExpiry.IsZero() || now.Before(s.AccessTokenExpiry) {
		return false
	}
	_, lapseAllowed := intervalHolds(s, interval, s.AccessTokenExpiry)
	return !lapseAllowed
}
