package app

import (
	"context"
	"errors"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge"
	"github.com/sessionbridge/sessionbridge/bridge/refresh"
	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// refresherPort adapts the refresher to the domain's bridge.Refresher
// port: the domain knows its own sentinel errors, not bridge/refresh's.
type refresherPort struct{ r *refresh.Refresher }

var _ bridge.ParkingRefresher = refresherPort{}

func (p refresherPort) Notify(at time.Time) { p.r.Notify(at) }

func (p refresherPort) ScheduleFor(provider string, issued, expiry time.Time) time.Time {
	return p.r.ScheduleFor(provider, issued, expiry)
}

func (p refresherPort) Parked() map[string]string { return p.r.Parked() }

// RefreshNow is the refresher's, with its permanent outcomes translated
// to the domain's errors.
func (p refresherPort) RefreshNow(ctx context.Context, sessionID string) (store.Session, error) {
	sess, err := p.r.RefreshNow(ctx, sessionID)
	return sess, domainRefreshError(err)
}

// domainRefreshError translates the refresher's sentinel errors to the
// domain's; the cause stays in the chain (and in the message) for logs.
func domainRefreshError(err error) error {
	switch {
	case errors.Is(err, refresh.ErrGrantRevoked):
		return translatedError{domain: bridge.ErrGrantRevoked, cause: err}
	case errors.Is(err, refresh.ErrNotConfigured):
		return translatedError{domain: bridge.ErrRefreshNotConfigured, cause: err}
	}
	return err
}

// translatedError matches both the domain's sentinel and the original
// error with errors.Is and errors.As, and reads as the original.
type translatedError struct{ domain, cause error }

func (e translatedError) Error() string   { return e.cause.Error() }
func (e translatedError) Unwrap() []error { return []error{e.domain, e.cause} }
