package app

import (
	"testing"

	"github.com/sessionbridge/sessionbridge/providers/devissuer"
)

// TestLoginWithES256Issuer: the dev issuer's ES256 mode (the benchmark's
// cheap signer) is accepted end to end, and a forged ES256 signature is not.
func TestLoginWithES256Issuer(t *testing.T) {
	h := newHarness(t, harnessOptions{issuer: devissuer.Options{ES256: true}, noRefresh: true})
	b := h.browser()
	h.login(t, b)
	if status, _ := h.api(t, "GET", "/v1/account/sessions/current", h.sessionCookie(t, b), nil); status != 200 {
		t.Fatalf("session check after an ES256 login: %d", status)
	}
	h.iss.SetFaults(devissuer.Faults{BadSignature: true})
	forged := h.browser()
	h.login(t, forged)
	if v := h.sessionCookie(t, forged); v != "" {
		t.Fatal("a login with a forged ES256 ID token got a session")
	}
}
