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

func TestRefreshRotation(t *testing.T) {
	now := time.Now()
	e := start(t, func(o *devissuer.Options) { o.DetectReuse = true })
	logs := &testenv.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.provider(t, oidc.Options{Now: func() time.Time { return now }, Logger: logger})
	l := e.login(t)
	secrets := []string{l.Token.AccessToken, l.Token.RefreshToken, l.Token.IDToken, clientSecret}
	defer func() {
		out := logs.String()
		if out == "" {
			t.Error("the logger received nothing; the leak check below would be vacuous")
		}
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("a secret reached the log:\n%s", out)
			}
		}
	}()
	rt := l.Token.RefreshToken
	for i := range 3 {
		now = now.Add(time.Minute)
		tok, err := e.p.Refresh(context.Background(), providers.RefreshRequest{RefreshToken: rt, Subject: l.Identity.Subject})
		if err != nil {
			t.Fatalf("refresh %d: %v", i, err)
		}
		if tok.AccessToken == "" || tok.AccessToken == l.Token.AccessToken {
			t.Fatalf("refresh %d: no new access token", i)
		}
		if tok.RefreshToken == "" || tok.RefreshToken == rt || !e.iss.IsLatestRefreshToken(tok.RefreshToken) {
			t.Fatalf("refresh %d: refresh token was not rotated", i)
		}
		if !tok.Expiry.Equal(now.Add(devissuer.DefaultAccessTokenTTL)) {
			t.Fatalf("refresh %d: Expiry = %v", i, tok.Expiry)
		}
		if tok.IDToken == "" {
			t.Fatalf("refresh %d: the refreshed ID token was dropped", i)
		}
		rt = tok.RefreshToken
		secrets = append(secrets, tok.AccessToken, tok.RefreshToken, tok.IDToken)
	}
	s := e.iss.Stats()
	if s.RefreshRequests != 3 || s.Replays != 0 || e.iss.MaxUsesOfAnyRefreshToken() != 1 {
		t.Fatalf("stats = %+v, max uses %d", s, e.iss.MaxUsesOfAnyRefreshToken())
	}
}

func TestRefreshIDTokenMustNameTheSameUser(t *testing.T) {
	e := start(t, nil)
	e.provider(t, oidc.Options{})
	l := e.login(t)
	_, err := e.p.Refresh(context.Background(), providers.RefreshRequest{RefreshToken: l.Token.RefreshToken, Subject: "someone-else"})
	wantCheck(t, err, "sub")
}

func TestRefreshIDTokenIsVerified(t *testing.T) {
	for check, f := range map[string]testissuer.Faults{
		"signature": {BadSignature: true},
		"aud":       {WrongAudience: true},
		"iss":       {WrongIssuer: true},
		"azp":       {ExtraAudienceWithoutAzp: true},
	} {
		t.Run(check, func(t *testing.T) {
			e := start(t, nil)
			e.provider(t, oidc.Options{})
			l := e.login(t)
			e.iss.SetFaults(f)
			_, err := e.p.Refresh(context.Background(), providers.RefreshRequest{RefreshToken: l.Token.RefreshToken, Subject: l.Identity.Subject})
			wantCheck(t, err, check)
		})
	}
}

func TestRefreshAnswers(t *testing.T) {
	cases := []struct {
		name       string
		faults     testissuer.Faults
		code       string // "" with ok: success expected
		ok         bool
		permanent  bool
		status     int
		retryAfter time.Duration
	}{
		{name: "invalid_grant", faults: testissuer.Faults{RefreshError: "invalid_grant"}, code: "invalid_grant", permanent: true, status: 400},
		{name: "503 retry-after", faults: testissuer.Faults{RefreshStatus: 503, RefreshRetryAfter: "30"}, code: "temporarily_unavailable", status: 503, retryAfter: 30 * time.Second},
		{name: "500", faults: testissuer.Faults{RefreshStatus: 500}, code: "server_error", status: 500},
		{name: "200 with error", faults: testissuer.Faults{Refresh200WithError: true}, status: 200, permanent: true},
		{name: "200 without access_token", faults: testissuer.Faults{Refresh200WithoutAccessToken: true}, status: 200},
		{name: "html", faults: testissuer.Faults{TokenHTML: 503}, status: 503},
		{name: "no expires_in", faults: testissuer.Faults{RefreshOmitExpiresIn: true}, ok: true},
		{name: "no refresh_token", faults: testissuer.Faults{RefreshOmitRefreshToken: true}, ok: true},
	}
	e := start(t, nil)
	e.provider(t, oidc.Options{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := e.login(t)
			e.iss.ResetStats()
			e.iss.SetFaults(tc.faults)
			defer e.iss.SetFaults(testissuer.Faults{})
			rt := l.Token.RefreshToken
			tok, err := e.p.Refresh(context.Background(), providers.RefreshRequest{RefreshToken: rt, Subject: l.Identity.Subject})
			if n := e.iss.Stats().RefreshRequests; n != 1 {
				t.Errorf("RefreshRequests = %d, want exactly 1", n)
			}
			if tc.ok {
				if err != nil {
					t.Fatalf("Refresh: %v", err)
				}
				if tc.faults.RefreshOmitExpiresIn && !tok.Expiry.IsZero() {
					t.Errorf("Expiry = %v, want zero without expires_in", tok.Expiry)
				}
				if tc.faults.RefreshOmitRefreshToken && tok.RefreshToken != rt {
					t.Errorf("without a new refresh_token the old one must be kept")
				}
				return
			}
			oe := wantOAuth(t, err)
			if tc.code != "" && oe.Code != tc.code {
				t.Errorf("Code = %q, want %q", oe.Code, tc.code)
			}
			if oe.HTTPStatus != tc.status || oe.RetryAfter != tc.retryAfter {
				t.Errorf("HTTPStatus, RetryAfter = %d, %v; want %d, %v", oe.HTTPStatus, oe.RetryAfter, tc.status, tc.retryAfter)
			}
			if got := providers.IsPermanent(err); got != tc.permanent {
				t.Errorf("IsPermanent = %v, want %v (%v)", got, tc.permanent, err)
			}
			if strings.Contains(err.Error(), rt) {
				t.Errorf("error leaks the refresh token: %v", err)
			}
		})
	}
}

func TestAuthStyleHonoured(t *testing.T) {
	cases := []struct {
		style      string
		faults     testissuer.Faults
		wantAuth   string
		wantClient bool // invalid_client expected
	}{
		{"", testissuer.Faults{}, devissuer.AuthBasic, false},
		{"basic", testissuer.Faults{RequireBasicAuth: true}, devissuer.AuthBasic, false},
		{"post", testissuer.Faults{RequirePostAuth: true}, devissuer.AuthPost, false},
		{"post", testissuer.Faults{RequireBasicAuth: true}, devissuer.AuthPost, true},
		{"basic", testissuer.Faults{RequirePostAuth: true}, devissuer.AuthBasic, true},
	}
	for _, tc := range cases {
		t.Run(tc.style+"/"+tc.wantAuth, func(t *testing.T) {
			e := start(t, nil)
			e.cfg.AuthStyle = tc.style
			e.provider(t, oidc.Options{})
			l := e.login(t) // the login itself uses the configured style
			e.iss.ResetStats()
			e.iss.SetFaults(tc.faults)
			_, err := e.p.Refresh(context.Background(), providers.RefreshRequest{RefreshToken: l.Token.RefreshToken, Subject: l.Identity.Subject})
			if tc.wantClient {
				if oe := wantOAuth(t, err); oe.Code != "invalid_client" || !providers.IsPermanent(err) {
					t.Fatalf("error = %v, want permanent invalid_client", err)
				}
			} else if err != nil {
				t.Fatalf("Refresh: %v", err)
			}
			recs := e.iss.TokenRequestRecords()
			if len(recs) != 1 {
				t.Fatalf("%d token requests, want exactly 1: %+v", len(recs), recs)
			}
			if recs[0].ClientAuth != tc.wantAuth {
				t.Fatalf("ClientAuth = %q, want %q", recs[0].ClientAuth, tc.wantAuth)
			}
		})
	}
}

func TestDiscoveryDownThenUp(t *testing.T) {
	e := start(t, nil)
	e.iss.SetFaults(testissuer.Faults{DiscoveryDown: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := oidc.New(ctx, e.cfg, redirectURL, oidc.Options{RetryInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatalf("New must not fail while the provider is down: %v", err)
	}
	e.p = p
	// Wait until discovery has been tried and refused.
	for e.iss.Stats().DiscoveryRequests < 2 {
		wctx, wcancel := context.WithTimeout(ctx, 20*time.Millisecond)
		if err := p.WaitReady(wctx); err == nil {
			wcancel()
			t.Fatal("provider became ready while discovery was down")
		}
		wcancel()
	}
	var ue *providers.UnavailableError
	if err := p.Ready(); !errors.As(err, &ue) {
		t.Fatalf("Ready = %v, want *UnavailableError", err)
	}
	if _, err := p.AuthCodeURL(ctx, newAuthRequest()); !errors.As(err, &ue) {
		t.Fatalf("AuthCodeURL = %v, want *UnavailableError", err)
	}
	req := newAuthRequest()
	if _, err := p.Exchange(ctx, providers.Callback{Code: "c"}, req); !errors.As(err, &ue) {
		t.Fatalf("Exchange = %v, want *UnavailableError", err)
	}
	if _, err := p.Refresh(ctx, providers.RefreshRequest{RefreshToken: "rt"}); !errors.As(err, &ue) {
		t.Fatalf("Refresh = %v, want *UnavailableError", err)
	}

	e.iss.SetFaults(testissuer.Faults{})
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := p.WaitReady(wctx); err != nil {
		t.Fatalf("WaitReady after recovery: %v", err)
	}
	e.login(t)
}
