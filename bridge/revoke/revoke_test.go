package revoke

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sessionbridge/sessionbridge/internal/devissuer"
	"github.com/sessionbridge/sessionbridge/internal/testenv"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testissuer"
	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/oidc"
)

// newProvider runs the repository's OpenID provider and an OIDC provider
// configured against it, as provider "corp".
func newProvider(t *testing.T) (*testissuer.Issuer, providers.Registry) {
	t.Helper()
	iss := testissuer.Start(t, devissuer.Options{ClientID: "c", ClientSecret: "s-0123456789", SigningKey: testenv.SigningKey()})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	p, err := oidc.New(ctx, oidc.Config{Key: "corp", Issuer: iss.URL(), ClientID: "c", ClientSecret: "s-0123456789"}, "http://127.0.0.1/cb", oidc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if err := p.WaitReady(wctx); err != nil {
		t.Fatal(err)
	}
	return iss, providers.Registry{"corp": p}
}

func revokeRequests(iss *testissuer.Issuer) int {
	n := 0
	for _, r := range iss.Requests() {
		if r.Endpoint == "revoke" {
			n++
		}
	}
	return n
}

// TestCloseStopsAWaitingRetry: a revocation waiting to retry does not hold
// up shutdown past Close's deadline, and counts as failed.
func TestCloseStopsAWaitingRetry(t *testing.T) {
	iss, reg := newProvider(t)
	iss.SetFaults(testissuer.Faults{RevokeFailFirst: 100})
	r, err := New(Options{Providers: reg, Backoff: []time.Duration{time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	r.Go(func(ctx context.Context) {
		r.Send(ctx, "corp", providers.RevokeRequest{RefreshToken: "rt-0123456789"})
	})
	for deadline := time.Now().Add(20 * time.Second); revokeRequests(iss) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no revocation request reached the provider")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := r.Close(ctx); err == nil {
		t.Fatal("Close reported nothing stopped although a retry was waiting")
	}
	if n := revokeRequests(iss); n != 1 {
		t.Errorf("%d revocation requests, want 1 (the retry was stopped)", n)
	}
	if got := testutil.ToFloat64(r.outcomes.WithLabelValues("corp", Failed)); got != 1 {
		t.Errorf("failed outcomes = %v, want 1", got)
	}
}

// TestSendIgnoresProvidersThatCannotRevoke: an unknown provider sends and
// counts nothing.
func TestSendIgnoresProvidersThatCannotRevoke(t *testing.T) {
	r, err := New(Options{Providers: providers.Registry{}})
	if err != nil {
		t.Fatal(err)
	}
	r.Send(context.Background(), "nope", providers.RevokeRequest{AccessToken: "x"})
	if n := testutil.CollectAndCount(r.outcomes); n != 0 {
		t.Errorf("%d outcomes counted for an unknown provider", n)
	}
}
