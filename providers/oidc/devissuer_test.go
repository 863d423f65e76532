package oidc_test

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/internal/devissuer"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testissuer"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testlogin"
	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/oidc"
)

const (
	clientID     = "bridge-client"
	clientSecret = "bridge-client-secret"
	redirectURL  = "http://127.0.0.1:9/v1/account/sessions/oauth2/callback/dev/proj"
)

type env struct {
	iss *testissuer.Issuer
	url string
	p   *oidc.Provider
	cfg oidc.Config
}

// start runs a devissuer on loopback; mutate may adjust its options.
func start(t *testing.T, mutate func(*devissuer.Options)) *env {
	t.Helper()
	opts := devissuer.Options{
		ClientID:            clientID,
		ClientSecret:        clientSecret,
		RedirectURIs:        []string{redirectURL},
		RotateRefreshTokens: true,
		AutoApprove:         &devissuer.User{Subject: "user-42", Email: "ada@example.com", Name: "Ada Lovelace", EmailVerified: true},
	}
	if mutate != nil {
		mutate(&opts)
	}
	iss := testissuer.Start(t, opts)
	u := iss.URL()
	return &env{iss: iss, url: u, cfg: oidc.Config{
		Key: "dev", Type: "oidc", DisplayName: "Dev", Issuer: u, ClientID: clientID, ClientSecret: clientSecret,
		Scopes: []string{"openid", "email", "profile", "offline_access"},
	}}
}

// provider creates the relying party for e.cfg and waits until ready.
func (e *env) provider(t *testing.T, opts oidc.Options) *oidc.Provider {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	p, err := oidc.New(ctx, e.cfg, redirectURL, opts)
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if err := p.WaitReady(wctx); err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	e.p = p
	return p
}

func newAuthRequest() providers.AuthRequest {
	return providers.AuthRequest{
		State:        "state-" + rand.Text(),
		Nonce:        "nonce-" + rand.Text(),
		CodeVerifier: rand.Text() + rand.Text(),
	}
}

// authorize drives the browser leg: AuthCodeURL, then /authorize with
// AutoApprove (the shared login driver), returning the callback parameters without following the
// redirect to the bridge.
func (e *env) authorize(t *testing.T, req providers.AuthRequest) providers.Callback {
	t.Helper()
	u, err := e.p.AuthCodeURL(context.Background(), req)
	if err != nil {
		t.Fatalf("AuthCodeURL: %v", err)
	}
	loc, err := testlogin.Authorize(context.Background(), nil, u, testlogin.Choice{})
	if err != nil {
		t.Fatalf("/authorize: %v", err)
	}
	q := loc.Query()
	if q.Get("error") != "" {
		t.Fatalf("/authorize refused: %s: %s", q.Get("error"), q.Get("error_description"))
	}
	if q.Get("state") != req.State {
		t.Fatalf("state = %q, want %q", q.Get("state"), req.State)
	}
	return providers.Callback{Code: q.Get("code"), Iss: q.Get("iss"), HasIss: q.Has("iss"), Form: q}
}

// login runs a whole login and fails the test on any error.
func (e *env) login(t *testing.T) *providers.Login {
	t.Helper()
	req := newAuthRequest()
	l, err := e.p.Exchange(context.Background(), e.authorize(t, req), req)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	return l
}

func wantCheck(t *testing.T, err error, check string) {
	t.Helper()
	var ve *providers.VerificationError
	if !errors.As(err, &ve) {
		t.Fatalf("error = %v (%T), want *VerificationError{%s}", err, err, check)
	}
	if ve.Check != check {
		t.Fatalf("Check = %q, want %q (%v)", ve.Check, check, err)
	}
	if !providers.IsPermanent(err) {
		t.Fatal("a verification error must be permanent")
	}
}

func wantOAuth(t *testing.T, err error) *providers.OAuthError {
	t.Helper()
	var oe *providers.OAuthError
	if !errors.As(err, &oe) {
		t.Fatalf("error = %v (%T), want *OAuthError", err, err)
	}
	return oe
}

func TestLoginHappyPath(t *testing.T) {
	for _, advertise := range []bool{false, true} {
		t.Run("iss_parameter="+map[bool]string{false: "no", true: "yes"}[advertise], func(t *testing.T) {
			now := time.Now()
			e := start(t, func(o *devissuer.Options) { o.AdvertiseIssParameter = advertise })
			e.provider(t, oidc.Options{Now: func() time.Time { return now }})
			req := newAuthRequest()
			cb := e.authorize(t, req)
			if cb.HasIss != advertise {
				t.Fatalf("callback HasIss = %v", cb.HasIss)
			}
			l, err := e.p.Exchange(context.Background(), cb, req)
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			want := providers.Identity{Subject: "user-42", Email: "ada@example.com", EmailVerified: true, Name: "Ada Lovelace"}
			if l.Identity != want {
				t.Errorf("Identity = %+v, want %+v", l.Identity, want)
			}
			if l.Token.AccessToken == "" || l.Token.RefreshToken == "" || l.Token.IDToken == "" {
				t.Errorf("Token = %v, id token %t", l.Token, l.Token.IDToken != "")
			}
			if !l.Token.Expiry.Equal(now.Add(devissuer.DefaultAccessTokenTTL)) {
				t.Errorf("Expiry = %v, want now+%v", l.Token.Expiry, devissuer.DefaultAccessTokenTTL)
			}
			s := e.iss.Stats()
			if s.TokenRequests != 1 || s.UserinfoRequests != 0 {
				t.Errorf("stats = %+v, want one token request and no user-info (the ID token names the user)", s)
			}
			recs := e.iss.TokenRequestRecords()
			if len(recs) != 1 || recs[0].ClientAuth != devissuer.AuthBasic {
				t.Errorf("token requests = %+v, want one with client_secret_basic", recs)
			}
			if info := e.p.Info(); info != (providers.Info{Key: "dev", DisplayName: "Dev", Type: "oidc"}) {
				t.Errorf("Info = %+v", info)
			}
		})
	}
}

func TestIDTokenFaults(t *testing.T) {
	e := start(t, nil)
	e.provider(t, oidc.Options{})
	cases := []struct {
		check  string
		faults testissuer.Faults
	}{
		{"iss", testissuer.Faults{WrongIssuer: true}},
		{"aud", testissuer.Faults{WrongAudience: true}},
		{"azp", testissuer.Faults{ExtraAudienceWithoutAzp: true}},
		{"signature", testissuer.Faults{BadSignature: true}},
		{"sub", testissuer.Faults{MissingSub: true}},
		{"iat", testissuer.Faults{MissingIat: true}},
		{"nonce", testissuer.Faults{WrongNonce: true}},
		{"exp", testissuer.Faults{Expired: true}},
		{"userinfo_sub", testissuer.Faults{UserinfoSubMismatch: true, NoProfileClaims: true}},
	}
	for _, tc := range cases {
		t.Run(tc.check, func(t *testing.T) {
			e.iss.SetFaults(tc.faults)
			defer e.iss.SetFaults(testissuer.Faults{})
			req := newAuthRequest()
			_, err := e.p.Exchange(context.Background(), e.authorize(t, req), req)
			wantCheck(t, err, tc.check)
		})
	}
	// The provider still works once the faults are gone.
	e.login(t)
}

func TestCallbackIssRefusedBeforeTokenRequest(t *testing.T) {
	cases := map[string]struct {
		advertise bool
		iss       string
	}{
		"foreign iss":             {false, "https://evil.example"},
		"foreign iss, advertised": {true, "https://evil.example"},
		"trailing slash":          {true, "SELF/"},
		"omitted, advertised":     {true, "omit"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := start(t, func(o *devissuer.Options) { o.AdvertiseIssParameter = tc.advertise })
			e.provider(t, oidc.Options{})
			e.iss.SetFaults(testissuer.Faults{CallbackIss: strings.Replace(tc.iss, "SELF", e.url, 1)})
			req := newAuthRequest()
			_, err := e.p.Exchange(context.Background(), e.authorize(t, req), req)
			wantCheck(t, err, "iss")
			if n := e.iss.Stats().TokenRequests; n != 0 {
				t.Fatalf("TokenRequests = %d, want 0", n)
			}
		})
	}
}

func TestExchangeTokenEndpointFaults(t *testing.T) {
	e := start(t, nil)
	e.provider(t, oidc.Options{})
	cases := []struct {
		name       string
		faults     testissuer.Faults
		code       string
		status     int
		retryAfter time.Duration
		mentions   string
	}{
		{"invalid_grant", testissuer.Faults{TokenError: "invalid_grant"}, "invalid_grant", 400, 0, "invalid_grant"},
		{"html 502", testissuer.Faults{TokenHTML: 502}, "", 502, 0, "non-JSON body (content-type \"text/html; charset=utf-8\")"},
		{"html 200", testissuer.Faults{TokenHTML: 200}, "", 200, 0, "non-JSON body"},
		{"503 retry-after", testissuer.Faults{TokenStatus: 503, RetryAfter: "5"}, "temporarily_unavailable", 503, 5 * time.Second, "HTTP 503"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.iss.SetFaults(tc.faults)
			defer e.iss.SetFaults(testissuer.Faults{})
			e.iss.ResetStats()
			req := newAuthRequest()
			cb := e.authorize(t, req)
			_, err := e.p.Exchange(context.Background(), cb, req)
			oe := wantOAuth(t, err)
			if oe.Code != tc.code || oe.HTTPStatus != tc.status || oe.RetryAfter != tc.retryAfter {
				t.Errorf("OAuthError = %+v", oe)
			}
			if !strings.Contains(err.Error(), tc.mentions) {
				t.Errorf("error %q does not mention %q", err, tc.mentions)
			}
			if strings.Contains(err.Error(), cb.Code) || strings.Contains(err.Error(), clientSecret) {
				t.Errorf("error leaks a secret: %v", err)
			}
			if n := e.iss.Stats().TokenRequests; n != 1 {
				t.Errorf("TokenRequests = %d, want 1", n)
			}
		})
	}
}

// TestUserinfoWhenIDTokenLacksProfile: an ID token without email or name
// makes the login ask user-info, and its answer fills the identity.
func TestUserinfoWhenIDTokenLacksProfile(t *testing.T) {
	e := start(t, nil)
	e.provider(t, oidc.Options{})
	e.iss.SetFaults(testissuer.Faults{NoProfileClaims: true})
	req := newAuthRequest()
	l, err := e.p.Exchange(context.Background(), e.authorize(t, req), req)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if s := e.iss.Stats(); s.UserinfoRequests != 1 {
		t.Errorf("user-info requests = %d, want 1", s.UserinfoRequests)
	}
	if l.Identity.Email == "" || !l.Identity.EmailVerified || l.Identity.Name == "" {
		t.Errorf("identity %+v, want email, email_verified and name from user-info", l.Identity)
	}
}

// TestFirstAttemptCarriesItsOutcome: when FirstAttempt closes after a
// successful discovery, Ready already says so. `check --online` waits on
// FirstAttempt and then reads Ready; it once read "discovery has not
// completed yet" because the channel closed before the metadata was stored.
// The window was short, so this tries many providers.
func TestFirstAttemptCarriesItsOutcome(t *testing.T) {
	e := start(t, nil)
	for i := range 200 {
		ctx, cancel := context.WithCancel(context.Background())
		p, err := oidc.New(ctx, e.cfg, redirectURL, oidc.Options{RetryInterval: time.Hour})
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		select {
		case <-p.FirstAttempt():
		case <-time.After(10 * time.Second):
			cancel()
			t.Fatal("the first discovery attempt did not finish")
		}
		err = p.Ready()
		cancel()
		if err != nil {
			t.Fatalf("attempt %d: FirstAttempt closed after a successful discovery, but Ready says: %v", i, err)
		}
	}
}
