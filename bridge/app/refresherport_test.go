package app

import (
	"errors"
	"fmt"
	"testing"

	"github.com/sessionbridge/sessionbridge/bridge"
	"github.com/sessionbridge/sessionbridge/bridge/refresh"
	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// TestDomainRefreshError checks the port's translation: the refresher's
// permanent outcomes become the domain's sentinels while the original
// stays matchable and readable; everything else passes unchanged.
func TestDomainRefreshError(t *testing.T) {
	other := errors.New("provider down")
	for _, c := range []struct {
		name   string
		in     error
		domain error
	}{
		{"grant revoked", fmt.Errorf("session x: %w", refresh.ErrGrantRevoked), bridge.ErrGrantRevoked},
		{"not configured", refresh.ErrNotConfigured, bridge.ErrRefreshNotConfigured},
		{"session ended", refresh.ErrSessionEnded, nil},
		{"temporary", other, nil},
		{"none", nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := domainRefreshError(c.in)
			if c.domain == nil {
				if got != c.in {
					t.Fatalf("got %v, want it unchanged (%v)", got, c.in)
				}
				return
			}
			if !errors.Is(got, c.domain) || !errors.Is(got, c.in) || got.Error() != c.in.Error() {
				t.Fatalf("got %q: Is(domain) %v, Is(original) %v", got, errors.Is(got, c.domain), errors.Is(got, c.in))
			}
		})
	}
	if !errors.Is(domainRefreshError(refresh.ErrSessionEnded), store.ErrNotFound) {
		t.Fatal("an ended session must stay store.ErrNotFound")
	}
}
