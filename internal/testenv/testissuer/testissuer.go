// Package testissuer runs the repository's OpenID provider (devissuer) for
// a test. It is separate from testenv because devissuer's own tests import
// testenv, and testenv importing devissuer would make a cycle.
//
// It is imported by _test.go files only; nothing in the product uses it.
package testissuer

import (
	"testing"

	"github.com/sessionbridge/sessionbridge/internal/testenv"
	"github.com/sessionbridge/sessionbridge/internal/devissuer"
)

// Start runs a devissuer with opts on a loopback port and closes it when
// the test ends; iss.URL() is its issuer URL. A nil opts.SigningKey becomes
// the key shared by the test binary (testenv.SigningKey), which saves an
// RSA key generation per issuer.
func Start(t testing.TB, opts devissuer.Options) *devissuer.Issuer {
	t.Helper()
	if opts.SigningKey == nil {
		opts.SigningKey = testenv.SigningKey()
	}
	iss, err := devissuer.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iss.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = iss.Close() })
	return iss
}
