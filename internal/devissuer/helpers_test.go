package devissuer

import (
	"testing"

	"github.com/sessionbridge/sessionbridge/internal/testenv"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testlogin"
)

var alice = User{Email: "alice@example.com", Name: "Alice", EmailVerified: true}

// harness is an issuer on a real loopback port plus the shared OAuth2
// client for it (testlogin.Client).
type harness struct {
	*testlogin.Client
	iss *Issuer
}

// newHarness starts an issuer; opts gets test defaults for the client, the
// key and AutoApprove (alice).
func newHarness(t testing.TB, opts Options) *harness {
	t.Helper()
	if opts.AutoApprove == nil {
		u := alice
		opts.AutoApprove = &u
	}
	return startHarness(t, opts)
}

// startHarness starts an issuer with opts as given (no AutoApprove default).
func startHarness(t testing.TB, opts Options) *harness {
	t.Helper()
	if opts.ClientID == "" {
		opts.ClientID, opts.ClientSecret = testlogin.ClientID, testlogin.ClientSecret
	}
	if opts.SigningKey == nil {
		opts.SigningKey = testenv.SigningKey()
	}
	iss, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	u, err := iss.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = iss.Close() })
	return &harness{Client: testlogin.NewClient(t, u, opts.ClientID, opts.ClientSecret), iss: iss}
}
