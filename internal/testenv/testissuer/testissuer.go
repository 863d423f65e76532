// Package testissuer runs the repository's OpenID provider (devissuer) for
// a test, with a catalogue of faults (see Faults) that make it misbehave in
// precise ways so a test can check that a relying party notices.
//
// The faults live here, not in devissuer, so the binary carries none of
// them: they are built on devissuer's extension point (devissuer.Hooks).
// It is separate from testenv because devissuer's own tests import
// testenv, and testenv importing devissuer would make a cycle. It is
// imported by _test.go files only; nothing in the product uses it.
package testissuer

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/sessionbridge/sessionbridge/internal/devissuer"
	"github.com/sessionbridge/sessionbridge/internal/testenv"
)

// Issuer is a devissuer whose faults a test can set at any time.
type Issuer struct {
	*devissuer.Issuer
	faults atomic.Pointer[Faults]

	mu sync.Mutex
	// revokeFailed counts revocations failed by Faults.RevokeFailFirst
	// since the last SetFaults.
	revokeFailed int

	// foreign signs with another key under the issuer's kid
	// (Faults.BadSignature); made on first use, as most tests never need it.
	foreignOnce sync.Once
	foreign     jose.Signer
	foreignErr  error
}

// New creates an issuer with opts whose faults SetFaults controls; it
// does not listen (see devissuer.Issuer.Start). The faults are the
// issuer's hooks: they replace opts.Hooks.
func New(opts devissuer.Options) (*Issuer, error) {
	i := &Issuer{}
	i.faults.Store(&Faults{})
	opts.Hooks = i.hooks()
	iss, err := devissuer.New(opts)
	if err != nil {
		return nil, err
	}
	i.Issuer = iss
	return i, nil
}

// Start runs an issuer with opts on a loopback port and closes it when
// the test ends; iss.URL() is its issuer URL. A nil opts.SigningKey becomes
// the key shared by the test binary (testenv.SigningKey), which saves an
// RSA key generation per issuer.
func Start(t testing.TB, opts devissuer.Options) *Issuer {
	t.Helper()
	if opts.SigningKey == nil {
		opts.SigningKey = testenv.SigningKey()
	}
	iss, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iss.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = iss.Close() })
	return iss
}

// SetFaults replaces the active faults; requests that arrive afterwards
// see them.
func (i *Issuer) SetFaults(f Faults) {
	i.mu.Lock()
	i.revokeFailed = 0
	i.mu.Unlock()
	i.faults.Store(&f)
}

// Faults returns the active faults.
func (i *Issuer) Faults() Faults { return *i.faults.Load() }
