package bridge

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/sessionbridge/sessionbridge/providers"
)

// Default bounds of readiness and of a login that meets a provider still
// running its first discovery.
const (
	// DefaultDiscoveryWait is how long a login waits for its provider's
	// first discovery attempt before it fails as unavailable.
	DefaultDiscoveryWait = 5 * time.Second
	// DefaultPendingBound is how long after start a provider whose first
	// discovery has not finished keeps /readyz at 503; after that it is
	// reported as failing and the process is ready (one provider must not
	// keep the others out of a load balancer).
	DefaultPendingBound = 30 * time.Second
)

// ProviderHealth is one provider that is not working, for /readyz.
type ProviderHealth struct {
	Provider string `json:"provider"`
	// Status is "pending" (first discovery not finished), "failing"
	// (discovery fails) or "parked" (refreshes refused the client).
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// Readiness is what /readyz reports.
type Readiness struct {
	// Ready is false while the store is unreachable or, for a bounded
	// time after start, a provider's first discovery is pending.
	Ready bool
	// Reason says why not ready ("" when ready).
	Reason string
	// Providers lists the providers that do not work (pending, failing,
	// or parked: their refreshes refused the bridge's client).
	Providers []ProviderHealth
	// Parked maps each parked provider to the error code that parked it.
	Parked map[string]string
}

// Readiness checks the store and every provider that loads metadata.
func (s *Service) Readiness(ctx context.Context) Readiness {
	r := Readiness{Ready: true}
	pendingCounts := s.now().Sub(s.started) < s.o.PendingBound
	for _, key := range s.providerKeys() {
		h, ok := providerHealth(key, s.o.Providers[key])
		if !ok {
			continue
		}
		if h.Status == "pending" && pendingCounts {
			r.Ready, r.Reason = false, "provider discovery pending"
		}
		r.Providers = append(r.Providers, h)
	}
	r.Parked = s.ParkedProviders()
	for _, key := range sortedKeys(r.Parked) {
		r.Providers = append(r.Providers, ProviderHealth{Provider: key, Status: "parked", Error: r.Parked[key]})
	}
	if err := s.o.Store.Ping(ctx); err != nil {
		r.Ready, r.Reason = false, "store unreachable"
	}
	return r
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// providerHealth reports a provider that is not working; ok is false
// when it works (or loads nothing remote).
func providerHealth(key string, p providers.Provider) (ProviderHealth, bool) {
	if d, isD := p.(providers.Discovering); isD {
		select {
		case <-d.FirstAttempt():
		default:
			return ProviderHealth{Provider: key, Status: "pending"}, true
		}
	}
	r, isR := p.(providers.Readiness)
	if !isR {
		return ProviderHealth{}, false
	}
	if err := r.Ready(); err != nil {
		msg := err.Error()
		var ue *providers.UnavailableError
		if errors.As(err, &ue) && ue.Err != nil {
			msg = ue.Err.Error()
		}
		return ProviderHealth{Provider: key, Status: "failing", Error: msg}, true
	}
	return ProviderHealth{}, false
}

// waitFirstDiscovery lets a login that arrives while its provider's first
// discovery attempt is still running wait for it (bounded by
// DiscoveryWait and ctx) instead of failing at once.
func (s *Service) waitFirstDiscovery(ctx context.Context, p providers.Provider) {
	d, ok := p.(providers.Discovering)
	if !ok {
		return
	}
	select {
	case <-d.FirstAttempt():
		return
	default:
	}
	t := time.NewTimer(s.o.DiscoveryWait)
	defer t.Stop()
	select {
	case <-d.FirstAttempt():
	case <-t.C:
	case <-ctx.Done():
	}
}
