package testissuer

import (
	"testing"

	"github.com/sessionbridge/sessionbridge/internal/devissuer"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testlogin"
)

var alice = devissuer.User{Email: "alice@example.com", Name: "Alice", EmailVerified: true}

// harness is an issuer with faults on a real loopback port plus the shared
// OAuth2 client for it (testlogin.Client, as devissuer's own tests have).
type harness struct {
	*testlogin.Client
	iss *Issuer
}

// newHarness starts an issuer; opts gets test defaults for the client, the
// key and AutoApprove (alice).
func newHarness(t testing.TB, opts devissuer.Options) *harness {
	t.Helper()
	if opts.AutoApprove == nil {
		u := alice
		opts.AutoApprove = &u
	}
	return startHarness(t, opts)
}

// startHarness starts an issuer with opts as given (no AutoApprove default).
func startHarness(t testing.TB, opts devissuer.Options) *harness {
	t.Helper()
	if opts.ClientID == "" {
		opts.ClientID, opts.ClientSecret = testlogin.ClientID, testlogin.ClientSecret
	}
	iss := Start(t, opts)
	return &harness{Client: testlogin.NewClient(t, iss.URL(), opts.ClientID, opts.ClientSecret), iss: iss}
}
