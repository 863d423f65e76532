package oidc_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/internal/devissuer"
	"github.com/sessionbridge/sessionbridge/internal/testenv"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testissuer"
	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/oidc"
)

// A refresh daemon that (re)started while the provider's key set is down
// has no keys cached. The refresh answer it gets carries the rotated
// refresh token: it is kept, on the strength of the direct token-endpoint
// answer and every claim check, instead of being thrown away (which would
// make the next refresh a replay and cost the user the grant).
func TestRefreshWhileKeySetDown(t *testing.T) {
	e := start(t, func(o *devissuer.Options) { o.DetectReuse = true })
	e.provider(t, oidc.Options{})
	l := e.login(t)

	e.iss.SetFaults(testissuer.Faults{JWKSDown: true})
	logs := &testenv.Buffer{}
	fresh := e.provider(t, oidc.Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	tok, err := fresh.Refresh(context.Background(), providers.RefreshRequest{RefreshToken: l.Token.RefreshToken, Subject: l.Identity.Subject})
	if err != nil {
		t.Fatalf("refresh while the key set is down: %v", err)
	}
	if tok.RefreshToken == "" || !e.iss.IsLatestRefreshToken(tok.RefreshToken) || tok.IDToken == "" {
		t.Fatal("the rotated refresh token was not returned")
	}
	if !strings.Contains(logs.String(), "key set unavailable") {
		t.Errorf("no warning logged:\n%s", logs.String())
	}
	if s := e.iss.Stats(); s.RefreshRequests != 1 || s.Replays != 0 {
		t.Errorf("stats %+v", s)
	}
}

// The claims of such a token are still checked: only the signature, which
// cannot be, is taken on trust.
func TestRefreshWhileKeySetDownChecksClaims(t *testing.T) {
	for name, tc := range map[string]struct {
		faults testissuer.Faults
		check  string
	}{
		"wrong audience": {testissuer.Faults{WrongAudience: true}, "aud"},
		"wrong issuer":   {testissuer.Faults{WrongIssuer: true}, "iss"},
		"expired":        {testissuer.Faults{Expired: true}, "exp"},
		"no sub":         {testissuer.Faults{MissingSub: true}, "sub"},
	} {
		t.Run(name, func(t *testing.T) {
			e := start(t, nil)
			e.provider(t, oidc.Options{})
			l := e.login(t)
			tc.faults.JWKSDown = true
			e.iss.SetFaults(tc.faults)
			fresh := e.provider(t, oidc.Options{})
			_, err := fresh.Refresh(context.Background(), providers.RefreshRequest{RefreshToken: l.Token.RefreshToken, Subject: l.Identity.Subject})
			wantCheck(t, err, tc.check)
		})
	}
}

// A login while the key set is down fails as an outage (try again), not as
// a forged token.
func TestLoginWhileKeySetDown(t *testing.T) {
	e := start(t, nil)
	e.iss.SetFaults(testissuer.Faults{JWKSDown: true})
	e.provider(t, oidc.Options{})
	req := newAuthRequest()
	_, err := e.p.Exchange(context.Background(), e.authorize(t, req), req)
	var ue *providers.UnavailableError
	if !errors.As(err, &ue) || providers.IsPermanent(err) {
		t.Fatalf("login while the key set is down: %v (%T), want a transient *UnavailableError", err, err)
	}
	// Once the key set is back, logins work with the same provider.
	e.iss.SetFaults(testissuer.Faults{})
	e.login(t)
}

// With the key set up, a bad signature is a forgery, refresh or not.
func TestBadSignatureWithKeySetUp(t *testing.T) {
	e := start(t, nil)
	e.provider(t, oidc.Options{})
	l := e.login(t)
	e.iss.SetFaults(testissuer.Faults{BadSignature: true})
	fresh := e.provider(t, oidc.Options{})
	_, err := fresh.Refresh(context.Background(), providers.RefreshRequest{RefreshToken: l.Token.RefreshToken, Subject: l.Identity.Subject})
	wantCheck(t, err, "signature")
}

// A key server that hangs, rather than failing, runs the refresh out of
// time while the answer (and its rotated refresh token) is already in: the
// claims are still checked and the answer kept.
func TestRefreshWhileKeySetHangs(t *testing.T) {
	e := start(t, nil)
	e.provider(t, oidc.Options{})
	l := e.login(t)
	e.iss.SetFaults(testissuer.Faults{JWKSDelay: time.Minute})
	fresh := e.provider(t, oidc.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	tok, err := fresh.Refresh(ctx, providers.RefreshRequest{RefreshToken: l.Token.RefreshToken, Subject: l.Identity.Subject})
	if err != nil {
		t.Fatalf("refresh while the key set hangs: %v", err)
	}
	if tok.RefreshToken == "" || !e.iss.IsLatestRefreshToken(tok.RefreshToken) {
		t.Fatal("the rotated refresh token was not returned")
	}
}
