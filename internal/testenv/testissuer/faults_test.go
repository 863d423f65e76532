package testissuer

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/sessionbridge/sessionbridge/internal/devissuer"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testlogin"
	"golang.org/x/oauth2"
)

// TestIDTokenFaults checks each ID token fault on the code exchange and on a
// refresh: go-oidc must reject the token, or the claim must be visibly wrong.
func TestIDTokenFaults(t *testing.T) {
	h := newHarness(t, devissuer.Options{})
	provider, err := oidc.NewProvider(h.Ctx, h.URL)
	if err != nil {
		t.Fatal(err)
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: testlogin.ClientID})
	good := h.MustLogin("the-nonce")
	for _, tc := range []struct {
		name     string
		f        Faults
		rejected bool                        // go-oidc's Verify must fail
		check    func(c map[string]any) bool // claims are as the fault says
	}{
		{"WrongIssuer", Faults{WrongIssuer: true}, true, func(c map[string]any) bool { return c["iss"] != h.URL }},
		{"WrongAudience", Faults{WrongAudience: true}, true, func(c map[string]any) bool { return c["aud"] != testlogin.ClientID }},
		{"BadSignature", Faults{BadSignature: true}, true, nil},
		{"Expired", Faults{Expired: true}, true, func(c map[string]any) bool { return int64(c["exp"].(float64)) < time.Now().Unix() }},
		{"ExtraAudienceWithoutAzp", Faults{ExtraAudienceWithoutAzp: true}, false, func(c map[string]any) bool {
			aud, _ := c["aud"].([]any)
			_, hasAzp := c["azp"]
			return len(aud) == 2 && aud[0] == testlogin.ClientID && !hasAzp
		}},
		{"MissingSub", Faults{MissingSub: true}, false, func(c map[string]any) bool { _, ok := c["sub"]; return !ok }},
		{"MissingIat", Faults{MissingIat: true}, false, func(c map[string]any) bool { _, ok := c["iat"]; return !ok }},
		{"WrongNonce", Faults{WrongNonce: true}, false, func(c map[string]any) bool {
			n, _ := c["nonce"].(string)
			return n != "" && n != "the-nonce"
		}},
	} {
		h.iss.SetFaults(tc.f)
		login := h.MustLogin("the-nonce")
		refresh := h.Refresh(good.RefreshToken)
		h.iss.SetFaults(Faults{})
		for step, raw := range map[string]string{"exchange": idToken(login), "refresh": refresh.Str("id_token")} {
			if raw == "" {
				t.Fatalf("%s/%s: no ID token", tc.name, step)
			}
			_, err := verifier.Verify(h.Ctx, raw)
			if tc.rejected && err == nil {
				t.Errorf("%s/%s: go-oidc accepted the token", tc.name, step)
			}
			if tc.check != nil && !tc.check(testlogin.Claims(t, raw)) {
				t.Errorf("%s/%s: claims %v", tc.name, step, testlogin.Claims(t, raw))
			}
		}
	}
	// Without faults the same steps verify.
	if _, err := verifier.Verify(h.Ctx, idToken(h.MustLogin("x"))); err != nil {
		t.Fatalf("clean token rejected: %v", err)
	}
}

func idToken(tok *oauth2.Token) string {
	s, _ := tok.Extra("id_token").(string)
	return s
}

func TestUserinfoSubMismatch(t *testing.T) {
	h := newHarness(t, devissuer.Options{})
	tok := h.MustLogin("n")
	h.iss.SetFaults(Faults{UserinfoSubMismatch: true})
	r := h.Userinfo(tok.AccessToken)
	if r.Status != 200 || r.Str("sub") == "" || r.Str("sub") == testlogin.Claims(t, idToken(tok))["sub"] {
		t.Errorf("userinfo sub %q", r.Str("sub"))
	}
}

func TestTokenEndpointFaults(t *testing.T) {
	h := newHarness(t, devissuer.Options{RotateRefreshTokens: true})
	tok := h.MustLogin("n")
	v := oauth2.GenerateVerifier()
	for _, tc := range []struct {
		name       string
		f          Faults
		status     int
		errCode    string
		retryAfter string
		html       bool
	}{
		{"TokenError", Faults{TokenError: "invalid_grant"}, 400, "invalid_grant", "", false},
		{"TokenStatus500", Faults{TokenStatus: 500}, 500, "server_error", "", false},
		{"TokenStatus503", Faults{TokenStatus: 503, RetryAfter: "7"}, 503, "temporarily_unavailable", "7", false},
		{"TokenStatus429", Faults{TokenStatus: 429, RetryAfter: "30"}, 429, "temporarily_unavailable", "30", false},
		{"TokenHTML200", Faults{TokenHTML: 200}, 200, "", "", true},
		{"TokenHTML500", Faults{TokenHTML: 500}, 500, "", "", true},
	} {
		h.iss.SetFaults(tc.f)
		for step, r := range map[string]testlogin.Response{"exchange": h.ExchangeRaw(h.Code("n", v), v), "refresh": h.Refresh(tok.RefreshToken)} {
			if r.Status != tc.status || r.Str("error") != tc.errCode || r.Header.Get("Retry-After") != tc.retryAfter {
				t.Errorf("%s/%s: %d %q retry-after %q", tc.name, step, r.Status, r.Str("error"), r.Header.Get("Retry-After"))
			}
			if tc.html != strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
				t.Errorf("%s/%s: content type %q", tc.name, step, r.Header.Get("Content-Type"))
			}
		}
	}
	h.iss.SetFaults(Faults{})
	// The refresh token survived every fault: none of them consumed it.
	if !h.iss.IsLatestRefreshToken(tok.RefreshToken) || h.iss.Stats().Replays != 0 {
		t.Error("a fault consumed the refresh token")
	}
	if r := h.Refresh(tok.RefreshToken); r.Status != 200 {
		t.Errorf("after faults: %d", r.Status)
	}
}

func TestTokenDelay(t *testing.T) {
	h := newHarness(t, devissuer.Options{})
	h.iss.SetFaults(Faults{TokenDelay: time.Minute})
	ctx, cancel := context.WithTimeout(h.Ctx, 50*time.Millisecond)
	defer cancel()
	v := oauth2.GenerateVerifier()
	_, err := h.Config.Exchange(ctx, h.Code("n", v), oauth2.VerifierOption(v))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
}

func TestRefreshFaults(t *testing.T) {
	h := newHarness(t, devissuer.Options{RotateRefreshTokens: true})
	tok := h.MustLogin("n")
	rt := tok.RefreshToken
	// Failing refresh faults leave the code exchange alone and keep rt valid.
	for _, tc := range []struct {
		name       string
		f          Faults
		status     int
		errCode    string
		retryAfter string
	}{
		{"RefreshError", Faults{RefreshError: "invalid_grant"}, 400, "invalid_grant", ""},
		{"RefreshStatus", Faults{RefreshStatus: 503, RefreshRetryAfter: "120"}, 503, "temporarily_unavailable", "120"},
		{"Refresh200WithError", Faults{Refresh200WithError: true}, 200, "invalid_grant", ""},
		{"Refresh200WithoutAccessToken", Faults{Refresh200WithoutAccessToken: true}, 200, "", ""},
	} {
		h.iss.SetFaults(tc.f)
		r := h.Refresh(rt)
		if r.Status != tc.status || r.Str("error") != tc.errCode || r.Header.Get("Retry-After") != tc.retryAfter || r.Str("access_token") != "" {
			t.Errorf("%s: %d %s retry-after %q", tc.name, r.Status, r.Raw, r.Header.Get("Retry-After"))
		}
		if _, err := h.Login("n"); err != nil {
			t.Errorf("%s: code exchange affected: %v", tc.name, err)
		}
	}
	if !h.iss.IsLatestRefreshToken(rt) {
		t.Fatal("a failing refresh fault consumed the token")
	}

	h.iss.SetFaults(Faults{RefreshOmitExpiresIn: true})
	r := h.Refresh(rt)
	if _, ok := r.Body["expires_in"]; ok || r.Status != 200 || r.Str("refresh_token") == "" {
		t.Errorf("RefreshOmitExpiresIn: %s", r.Raw)
	}
	rt = r.Str("refresh_token")

	h.iss.SetFaults(Faults{RefreshOmitRefreshToken: true})
	r = h.Refresh(rt)
	if _, ok := r.Body["refresh_token"]; ok || r.Status != 200 || r.Str("access_token") == "" {
		t.Errorf("RefreshOmitRefreshToken: %s", r.Raw)
	}
	if !h.iss.IsLatestRefreshToken(rt) {
		t.Error("RefreshOmitRefreshToken rotated anyway")
	}
	h.iss.SetFaults(Faults{})
	if r := h.Refresh(rt); r.Status != 200 {
		t.Errorf("kept token refused: %d", r.Status)
	}
}

func TestDiscoveryDown(t *testing.T) {
	h := newHarness(t, devissuer.Options{})
	h.iss.SetFaults(Faults{DiscoveryDown: true})
	if r := h.Do(testlogin.MustRequest(t, http.MethodGet, h.URL+"/.well-known/openid-configuration")); r.Status != 503 {
		t.Errorf("status %d", r.Status)
	}
	if _, err := oidc.NewProvider(h.Ctx, h.URL); err == nil {
		t.Error("go-oidc accepted a down discovery")
	}
	h.iss.SetFaults(Faults{})
	if _, err := oidc.NewProvider(h.Ctx, h.URL); err != nil {
		t.Errorf("after recovery: %v", err)
	}
	if h.iss.Stats().DiscoveryRequests != 3 {
		t.Errorf("DiscoveryRequests = %d", h.iss.Stats().DiscoveryRequests)
	}
}

func TestDelayedRequestRecordedAsCanceled(t *testing.T) {
	h := newHarness(t, devissuer.Options{})
	tok := h.MustLogin("n")
	h.iss.SetFaults(Faults{TokenDelay: time.Minute})
	ctx, cancel := context.WithTimeout(h.Ctx, 50*time.Millisecond)
	defer cancel()
	_, err := h.Config.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err == nil {
		t.Fatal("delayed refresh succeeded")
	}
	// Shutdown waits for in-flight handlers, so the record is complete after it.
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	if err := h.iss.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	recs := h.iss.TokenRequestRecords()
	last := recs[len(recs)-1]
	if last.GrantType != "refresh_token" || last.Error != "canceled" || last.Status != 0 || last.RefreshTokenID != devissuer.TokenID(tok.RefreshToken) {
		t.Errorf("record %+v", last)
	}
}

// TestCallbackIss: CallbackIss leaves iss out of the callback although it
// is advertised, or sends another, advertised or not; errors carry it too.
func TestCallbackIss(t *testing.T) {
	v := oauth2.GenerateVerifier()
	for _, tc := range []struct {
		advertise bool
		fault     string
		want      string // "" means absent
	}{
		{true, "omit", ""},
		{true, "https://attacker.example", "https://attacker.example"},
		{false, "https://attacker.example", "https://attacker.example"},
	} {
		h := newHarness(t, devissuer.Options{AdvertiseIssParameter: tc.advertise})
		h.iss.SetFaults(Faults{CallbackIss: tc.fault})
		q := h.Authorize("s", "n", v).Query()
		if got, has := q.Get("iss"), q.Has("iss"); got != tc.want || has != (tc.want != "") {
			t.Errorf("advertise=%t fault=%q: iss=%q present=%t, want %q", tc.advertise, tc.fault, got, has, tc.want)
		}
		// Errors carry iss too.
		loc := h.Authorize("s", "n", v, oauth2.SetAuthURLParam("response_type", "token"))
		if loc.Query().Get("error") == "" || loc.Query().Get("iss") != tc.want {
			t.Errorf("error redirect %v: iss = %q, want %q", loc.Query().Get("error"), loc.Query().Get("iss"), tc.want)
		}
	}
}

// TestRequiredClientAuthentication: RequireBasicAuth and RequirePostAuth
// refuse the other method with invalid_client.
func TestRequiredClientAuthentication(t *testing.T) {
	h := newHarness(t, devissuer.Options{})
	exchange := h.ExchangeWith
	post := h.PostCredentials()
	h.iss.SetFaults(Faults{RequireBasicAuth: true})
	testlogin.WantError(t, exchange(false, post), 401, "invalid_client")
	if r := exchange(true, nil); r.Status != 200 {
		t.Errorf("basic with RequireBasicAuth: %d", r.Status)
	}
	h.iss.SetFaults(Faults{RequirePostAuth: true})
	testlogin.WantError(t, exchange(true, nil), 401, "invalid_client")
	if r := exchange(false, post); r.Status != 200 {
		t.Errorf("post with RequirePostAuth: %d", r.Status)
	}

	var styles []string
	for _, rec := range h.iss.TokenRequestRecords() {
		styles = append(styles, rec.ClientAuth)
	}
	want := "client_secret_post client_secret_basic client_secret_basic client_secret_post"
	if got := strings.Join(styles, " "); got != want {
		t.Errorf("auth styles\n got %s\nwant %s", got, want)
	}
	// x/oauth2's auto-detection falls back to the body on invalid_client.
	h.iss.SetFaults(Faults{RequirePostAuth: true})
	h.Config.Endpoint.AuthStyle = oauth2.AuthStyleAutoDetect
	if _, err := h.Login("n"); err != nil {
		t.Errorf("autodetect: %v", err)
	}
}

// TestSetFaultsWhileServing: faults can be set while logins and refreshes
// run (under -race this proves SetFaults needs no outside locking).
func TestSetFaultsWhileServing(t *testing.T) {
	h := newHarness(t, devissuer.Options{RotateRefreshTokens: true})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			tok := h.MustLogin("n")
			if r := h.Refresh(tok.RefreshToken); r.Status != 200 {
				t.Errorf("refresh: %s", r.Raw)
			}
		})
	}
	wg.Go(func() {
		for range 100 {
			h.iss.SetFaults(Faults{})
			_ = h.iss.Faults()
		}
	})
	wg.Wait()
}

// TestRevokeFailFirst: the first RevokeFailFirst revocations fail (503 by
// default, 400 unsupported_token_type when asked) without revoking;
// SetFaults restarts the count.
func TestRevokeFailFirst(t *testing.T) {
	h := newHarness(t, devissuer.Options{RotateRefreshTokens: true})
	tok := h.MustLogin("n")
	revoke := func() testlogin.Response { return h.Post("/revoke", url.Values{"token": {tok.RefreshToken}}, true) }
	h.iss.SetFaults(Faults{RevokeFailFirst: 2})
	testlogin.WantError(t, revoke(), 503, "temporarily_unavailable")
	h.iss.SetFaults(Faults{RevokeFailFirst: 2, RevokeStatus: 400})
	testlogin.WantError(t, revoke(), 400, "unsupported_token_type")
	testlogin.WantError(t, revoke(), 400, "unsupported_token_type")
	if !h.iss.IsLatestRefreshToken(tok.RefreshToken) || h.iss.Stats().Revocations != 0 {
		t.Fatal("a failed revocation revoked")
	}
	if r := revoke(); r.Status != 200 || h.iss.IsLatestRefreshToken(tok.RefreshToken) {
		t.Errorf("third revocation: %d, token still live %t", r.Status, h.iss.IsLatestRefreshToken(tok.RefreshToken))
	}
}
