// Package revoke revokes provider tokens (RFC 7009) after sessions end,
// off the request path: a sign-out answers at once, and the revocation
// runs in the background with a few retries on transient failures. Every
// outcome is counted in sessionbridge_token_revocations_total; no token
// is ever logged.
package revoke

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sessionbridge/sessionbridge/providers"
)

// Outcomes, the metric's "result" label.
const (
	Revoked     = "revoked"      // the provider answered 200
	Failed      = "failed"       // refused, or still failing after the retries
	SharedGrant = "shared_grant" // not sent: another live session of the user shares the grant
	Unreadable  = "unreadable"   // not sent: the sealed token could not be opened
)

// Options configures a Revoker. Providers is required.
type Options struct {
	Providers providers.Registry
	Logger    *slog.Logger
	// Registerer receives the outcome counter (nil: not registered).
	Registerer prometheus.Registerer
	// Backoff is the wait before each retry; its length is the number of
	// retries. Default 1s, 4s, 15s.
	Backoff []time.Duration
	// Timeout bounds one request. Default 10s.
	Timeout time.Duration
	// Now is the clock for Retry-After dates.
	Now func() time.Time
}

// Revoker runs revocations in the background. It is safe for concurrent
// use; Close waits for the ones in flight.
type Revoker struct {
	o        Options
	outcomes *prometheus.CounterVec
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// New returns a Revoker with defaults filled in.
func New(o Options) (*Revoker, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Backoff == nil {
		o.Backoff = []time.Duration{time.Second, 4 * time.Second, 15 * time.Second}
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	r := &Revoker{o: o, outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sessionbridge_token_revocations_total",
		Help: "Provider token revocations (RFC 7009) after sessions ended, by provider and result (revoked, failed, shared_grant, unreadable).",
	}, []string{"provider", "result"})}
	if o.Registerer != nil {
		if err := o.Registerer.Register(r.outcomes); err != nil {
			return nil, err
		}
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	return r, nil
}

// Go runs fn in the background with a context that Close cancels.
func (r *Revoker) Go(fn func(ctx context.Context)) {
	if r == nil {
		return
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		fn(r.ctx)
	}()
}

// Count records an outcome that needed no request.
func (r *Revoker) Count(provider, result string) {
	if r != nil {
		r.outcomes.WithLabelValues(provider, result).Inc()
	}
}

// Send revokes an ended session's grant at provider, retrying transient
// failures with backoff (or the provider's Retry-After, up to a minute),
// and records the outcome.
func (r *Revoker) Send(ctx context.Context, provider string, req providers.RevokeRequest) {
	p, err := r.o.Providers.Get(provider)
	rv, ok := p.(providers.Revoker)
	if err != nil || !ok {
		return
	}
	for attempt := 0; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, r.o.Timeout)
		err = rv.RevokeToken(actx, req)
		cancel()
		if err == nil {
			r.Count(provider, Revoked)
			r.o.Logger.Info("provider token revoked", "provider", provider, "attempts", attempt+1)
			return
		}
		if !providers.Transient(err) || attempt >= len(r.o.Backoff) || ctx.Err() != nil {
			break
		}
		wait := r.o.Backoff[attempt]
		if ra := providers.RetryAfter(err); ra > wait {
			wait = min(ra, time.Minute)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
	}
	r.Count(provider, Failed)
	r.o.Logger.Warn("provider token revocation failed", "provider", provider, "err", err)
}

// Close waits for the revocations in flight until ctx ends, then stops
// the rest (a retry still waiting is given up).
func (r *Revoker) Close(ctx context.Context) error {
	if r == nil {
		return nil
	}
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		r.cancel()
		<-done
		return errors.New("revoke: revocations still in flight were stopped")
	}
}
