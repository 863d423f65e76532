package devissuer

import (
	"net/url"
	"sync"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testlogin"
	"golang.org/x/oauth2"
)

func TestRefreshRotation(t *testing.T) {
	h := newHarness(t, Options{RotateRefreshTokens: true})
	provider, err := oidc.NewProvider(h.Ctx, h.URL)
	if err != nil {
		t.Fatal(err)
	}
	tok := h.MustLogin("login-nonce")
	rt1 := tok.RefreshToken
	// x/oauth2 as a client: one refresh through a TokenSource.
	expired := &oauth2.Token{RefreshToken: rt1}
	tok2, err := h.Config.TokenSource(h.Ctx, expired).Token()
	if err != nil {
		t.Fatal(err)
	}
	rt2 := tok2.RefreshToken
	if rt2 == "" || rt2 == rt1 || tok2.AccessToken == tok.AccessToken {
		t.Fatal("refresh did not rotate")
	}
	raw, _ := tok2.Extra("id_token").(string)
	idt, err := provider.Verifier(&oidc.Config{ClientID: testlogin.ClientID}).Verify(h.Ctx, raw)
	if err != nil {
		t.Fatalf("refreshed ID token: %v", err)
	}
	if idt.Nonce != "" {
		t.Errorf("refreshed ID token carries nonce %q", idt.Nonce)
	}
	if idt.Subject != defaultSubject(alice.Email) {
		t.Errorf("sub %q", idt.Subject)
	}
	if !h.iss.IsLatestRefreshToken(rt2) || h.iss.IsLatestRefreshToken(rt1) {
		t.Error("IsLatestRefreshToken does not follow rotation")
	}
	// Without DetectReuse the old token is refused, counted, and the family lives.
	testlogin.WantError(t, h.Refresh(rt1), 400, "invalid_grant")
	if r := h.Refresh(rt2); r.Status != 200 || r.Str("refresh_token") == "" {
		t.Fatalf("current token refused after a replay without DetectReuse: %d %s", r.Status, r.Raw)
	}
	st := h.iss.Stats()
	if st.Replays != 1 || st.RefreshRequests != 3 || st.InvalidGrants != 1 {
		t.Errorf("stats %+v", st)
	}
	uses := h.iss.RefreshTokenUses()
	if uses[TokenID(rt1)] != 2 || uses[TokenID(rt2)] != 1 || h.iss.MaxUsesOfAnyRefreshToken() != 2 {
		t.Errorf("uses %v", uses)
	}
	if h.iss.LiveRefreshTokens() != 1 {
		t.Errorf("live = %d", h.iss.LiveRefreshTokens())
	}
}

func TestReuseDetection(t *testing.T) {
	h := newHarness(t, Options{RotateRefreshTokens: true, DetectReuse: true})
	tok := h.MustLogin("n")
	r2 := h.Refresh(tok.RefreshToken)
	if r2.Status != 200 {
		t.Fatalf("refresh: %d %s", r2.Status, r2.Raw)
	}
	testlogin.WantError(t, h.Refresh(tok.RefreshToken), 400, "invalid_grant") // replay
	// The whole family is revoked: the newest refresh and access tokens too.
	testlogin.WantError(t, h.Refresh(r2.Str("refresh_token")), 400, "invalid_grant")
	if r := h.Userinfo(r2.Str("access_token")); r.Status != 401 {
		t.Errorf("access token of a revoked family: %d", r.Status)
	}
	if r := h.Userinfo(tok.AccessToken); r.Status != 401 {
		t.Errorf("first access token of a revoked family: %d", r.Status)
	}
	st := h.iss.Stats()
	if st.Replays != 1 || st.InvalidGrants != 2 {
		t.Errorf("stats %+v", st)
	}
	if h.iss.LiveRefreshTokens() != 0 || h.iss.IsLatestRefreshToken(r2.Str("refresh_token")) {
		t.Error("family still live")
	}
	// Another login is unaffected.
	other := h.MustLogin("n2")
	if r := h.Refresh(other.RefreshToken); r.Status != 200 {
		t.Errorf("other family: %d", r.Status)
	}
}

func TestNoRotation(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.MustLogin("n")
	for range 3 {
		r := h.Refresh(tok.RefreshToken)
		if r.Status != 200 || r.Str("access_token") == "" {
			t.Fatalf("refresh: %d %s", r.Status, r.Raw)
		}
		if _, ok := r.Body["refresh_token"]; ok {
			t.Fatal("refresh_token in a non-rotating answer")
		}
		if c := testlogin.Claims(t, r.Str("id_token")); c["nonce"] != nil || c["sub"] == nil {
			t.Errorf("refreshed ID token claims %v", c)
		}
	}
	if !h.iss.IsLatestRefreshToken(tok.RefreshToken) || h.iss.Stats().Replays != 0 {
		t.Error("token not current")
	}
	if h.iss.MaxUsesOfAnyRefreshToken() != 3 {
		t.Errorf("max uses %d", h.iss.MaxUsesOfAnyRefreshToken())
	}
}

func TestRefreshScope(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.MustLogin("n")
	r := h.Post("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "scope": {"openid admin"}}, true)
	testlogin.WantError(t, r, 400, "invalid_scope")
	testlogin.WantError(t, h.Refresh("never-issued"), 400, "invalid_grant")
	testlogin.WantError(t, h.Post("/token", url.Values{"grant_type": {"refresh_token"}}, true), 400, "invalid_request")
	testlogin.WantError(t, h.Post("/token", url.Values{"grant_type": {"password"}}, true), 400, "unsupported_grant_type")
}

// TestConcurrentReplay presents one refresh token from many goroutines at
// once: exactly one wins, the rest are replays.
func TestConcurrentReplay(t *testing.T) {
	h := newHarness(t, Options{RotateRefreshTokens: true})
	tok := h.MustLogin("n")
	const n = 20
	var wg sync.WaitGroup
	statuses := make(chan int, n)
	for range n {
		wg.Go(func() { statuses <- h.Refresh(tok.RefreshToken).Status })
	}
	wg.Wait()
	close(statuses)
	ok := 0
	for s := range statuses {
		if s == 200 {
			ok++
		}
	}
	if ok != 1 || h.iss.Stats().Replays != n-1 || h.iss.MaxUsesOfAnyRefreshToken() != n {
		t.Errorf("ok=%d stats=%+v", ok, h.iss.Stats())
	}
}
