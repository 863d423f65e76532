package oauth2_test

import (
	"context"
	"crypto/rand"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/internal/testenv/testlogin"
	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/oauth2"
	"github.com/sessionbridge/sessionbridge/providers/providertest"
)

const (
	clientID     = "client-123"
	clientSecret = "secret-abcdefgh"
	redirectURL  = "https://bridge.example/v1/account/sessions/oauth2/callback/legacy/default"
	authURL      = "https://legacy.example/oauth/authorize"
	tokenURL     = "https://legacy.example/oauth/token"
	meURL        = "https://api.legacy.example/v2/me"
)

var fixedNow = time.Date(2026, 11, 28, 9, 30, 0, 0, time.UTC)

func newSpec() providertest.Spec {
	return providertest.Spec{
		ClientID: clientID, ClientSecret: clientSecret, AuthStyle: "basic", PKCE: true,
		AuthURL: authURL, TokenURL: tokenURL,
		Token:   providertest.Response{Body: `{"access_token":"{access_token}","token_type":"bearer","expires_in":3600,"refresh_token":"{refresh_token}","scope":"read profile"}`},
		Refresh: providertest.Response{Body: `{"access_token":"{access_token}","token_type":"bearer","expires_in":7200}`},
		APIs: map[string]providertest.Response{
			meURL: {Body: `{"data":{"user":{"id":98765432109876543210,"display":"Ada Lovelace","mail":"ada@example.com","ok":"true"}}}`},
		},
	}
}

func newConfig() oauth2.Config {
	return oauth2.Config{
		Key: "legacy", ClientID: clientID, ClientSecret: clientSecret,
		AuthURL: authURL, TokenURL: tokenURL, UserinfoURL: meURL,
		Claims: oauth2.Claims{UID: "data.user.id", Email: "data.user.mail", EmailVerified: "data.user.ok", Name: "data.user.display"},
		Scopes: []string{"read", "profile"}, AuthStyle: "basic", PKCE: true, Refresh: true,
	}
}

func build(t *testing.T, f *providertest.Fake, c oauth2.Config) *oauth2.Provider {
	t.Helper()
	c.AuthURL, c.TokenURL, c.UserinfoURL = f.Rewrite(c.AuthURL), f.Rewrite(c.TokenURL), f.Rewrite(c.UserinfoURL)
	if c.RefreshURL != "" {
		c.RefreshURL = f.Rewrite(c.RefreshURL)
	}
	p, err := oauth2.New(c, redirectURL, oauth2.Options{Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func authRequest() providers.AuthRequest {
	return providers.AuthRequest{State: "state-" + rand.Text(), Nonce: "nonce-" + rand.Text(), CodeVerifier: rand.Text() + rand.Text()}
}

func login(t *testing.T, p *oauth2.Provider, req providers.AuthRequest) (*providers.Login, error) {
	t.Helper()
	u, err := p.AuthCodeURL(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	loc, err := testlogin.Authorize(context.Background(), nil, u, testlogin.Choice{})
	if err != nil {
		t.Fatal(err)
	}
	q := loc.Query()
	if q.Get("error") != "" {
		t.Fatalf("authorize refused: %s", q.Get("error"))
	}
	if q.Get("state") != req.State {
		t.Fatalf("state %q, want %q", q.Get("state"), req.State)
	}
	return p.Exchange(context.Background(), providers.Callback{Code: q.Get("code"), Form: q}, req)
}

func TestLoginAndRefresh(t *testing.T) {
	f := providertest.New(t, newSpec())
	p := build(t, f, newConfig())
	req := authRequest()
	req.Scopes = []string{"extra", "read"}
	l, err := login(t, p, req)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	want := providers.Identity{Subject: "98765432109876543210", Email: "ada@example.com", EmailVerified: true, Name: "Ada Lovelace"}
	if l.Identity != want {
		t.Fatalf("identity %+v, want %+v", l.Identity, want)
	}
	if !strings.HasPrefix(l.Token.AccessToken, "at-") || !strings.HasPrefix(l.Token.RefreshToken, "rt-") {
		t.Fatalf("tokens not taken from the answer: %v", l.Token)
	}
	if !l.Token.Expiry.Equal(fixedNow.Add(time.Hour)) {
		t.Fatalf("expiry %v", l.Token.Expiry)
	}
	if got := strings.Join(l.Token.Scopes, " "); got != "read profile" {
		t.Fatalf("scopes %q", got)
	}
	if got := f.LastAuthorize().Get("scope"); got != "read profile extra" {
		t.Fatalf("authorize scope %q", got)
	}
	if strings.Contains(l.Token.String(), l.Token.AccessToken) {
		t.Fatal("Token.String leaks the access token")
	}

	tok, err := p.Refresh(context.Background(), providers.RefreshRequest{RefreshToken: l.Token.RefreshToken, Subject: l.Identity.Subject})
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if tok.AccessToken == l.Token.AccessToken || !tok.Expiry.Equal(fixedNow.Add(2*time.Hour)) {
		t.Fatalf("refresh token %v", tok)
	}
	if tok.RefreshToken != l.Token.RefreshToken {
		t.Fatal("a refresh answer without refresh_token must keep the one sent")
	}
	if _, err := p.Refresh(context.Background(), providers.RefreshRequest{RefreshToken: "rt-unknown"}); !providers.IsPermanent(err) {
		t.Fatalf("unknown refresh token: %v, want a permanent error", err)
	}
}

func TestFormEncodedTokenPostAuthNoPKCECommaScopes(t *testing.T) {
	spec := newSpec()
	spec.AuthStyle, spec.PKCE = "post", false
	spec.Token = providertest.Response{ContentType: "application/x-www-form-urlencoded", Body: "access_token={access_token}&token_type=bearer&expires_in=60"}
	spec.APIs[meURL] = providertest.Response{Body: `{"id": 7, "login": "ada"}`}
	spec.APIMethods = map[string]string{meURL: "POST"}
	f := providertest.New(t, spec)
	c := newConfig()
	c.AuthStyle, c.PKCE, c.ScopeSeparator, c.UserinfoMethod = "post", false, ",", "post"
	c.Claims = oauth2.Claims{UID: "id", Name: "name|login"}
	c.AuthParams = map[string]string{"access_type": "offline"}
	p := build(t, f, c)
	l, err := login(t, p, authRequest())
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if l.Identity != (providers.Identity{Subject: "7", Name: "ada"}) {
		t.Fatalf("identity %+v", l.Identity)
	}
	if !l.Token.Expiry.Equal(fixedNow.Add(time.Minute)) {
		t.Fatalf("expiry from a form answer: %v", l.Token.Expiry)
	}
	q := f.LastAuthorize()
	if q.Get("scope") != "read,profile" || q.Get("access_type") != "offline" || q.Has("code_challenge") {
		t.Fatalf("authorize query %v", q)
	}
}

func TestUserinfoHeadersAndTokenFromAnswer(t *testing.T) {
	spec := newSpec()
	spec.Token = providertest.Response{Body: `{"access_token":"{access_token}","owner":{"user":{"id":"u-9","name":"Grace"}}}`}
	f := providertest.New(t, spec)
	c := newConfig()
	c.UserinfoURL = ""
	c.Claims = oauth2.Claims{UID: "owner.user.id", Name: "owner.user.name"}
	l, err := login(t, build(t, f, c), authRequest())
	if err != nil {
		t.Fatal(err)
	}
	if l.Identity.Subject != "u-9" || l.Identity.Name != "Grace" || !l.Token.Expiry.IsZero() {
		t.Fatalf("login %+v %v", l.Identity, l.Token)
	}

	f2 := providertest.New(t, newSpec())
	c = newConfig()
	c.UserinfoHeaders = map[string]string{"Client-Id": "{client_id}", "Authorization": "OAuth {access_token}"}
	if _, err := login(t, build(t, f2, c), authRequest()); err != nil {
		t.Fatal(err)
	}
	var me providertest.Request
	for _, r := range f2.Requests() {
		if strings.HasPrefix(r.URL, meURL) {
			me = r
		}
	}
	if me.Header.Get("Client-Id") != clientID || !strings.HasPrefix(me.Header.Get("Authorization"), "OAuth at-") {
		t.Fatalf("user-info headers %v", me.Header)
	}
}

func TestRefreshUnsupportedSendsNothing(t *testing.T) {
	f := providertest.New(t, newSpec())
	c := newConfig()
	c.Refresh = false
	p := build(t, f, c)
	_, err := p.Refresh(context.Background(), providers.RefreshRequest{RefreshToken: "rt-x"})
	var oe *providers.OAuthError
	if !errors.As(err, &oe) || oe.Code != "unsupported_grant_type" || !providers.IsPermanent(err) {
		t.Fatalf("err %v", err)
	}
	if n := len(f.Requests()); n != 0 {
		t.Fatalf("%d requests sent", n)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		token    providertest.Response
		me       *providertest.Response
		wantCode string
		wantText string
	}{
		{"oauth error", providertest.Response{Status: 400, Body: `{"error":"invalid_grant","error_description":"code expired"}`}, nil, "invalid_grant", "code expired"},
		{"error on 200", providertest.Response{ContentType: "application/x-www-form-urlencoded", Body: "error=bad_verification_code&error_description=The+code+is+wrong"}, nil, "bad_verification_code", ""},
		{"html", providertest.Response{Status: 502, ContentType: "text/html", Body: "<html>Bad gateway {access_token}</html>"}, nil, "", "non-JSON"},
		{"html 200", providertest.Response{ContentType: "text/html", Body: "<html>hi</html>"}, nil, "", "non-JSON"},
		{"no access token", providertest.Response{Body: `{"token_type":"bearer"}`}, nil, "", "unusable"},
		{"userinfo html", providertest.Response{}, &providertest.Response{ContentType: "text/html", Body: "<html>login</html>"}, "", "non-JSON"},
		{"userinfo 401", providertest.Response{}, &providertest.Response{Status: 401, Body: `{"error":"invalid_token"}`}, "", "HTTP 401"},
		{"no uid", providertest.Response{}, &providertest.Response{Body: `{"data":{}}`}, "", "claims.uid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := newSpec()
			if tc.token.Body != "" {
				spec.Token = tc.token
			}
			if tc.me != nil {
				spec.APIs[meURL] = *tc.me
			}
			f := providertest.New(t, spec)
			p := build(t, f, newConfig())
			l, err := login(t, p, authRequest())
			if err == nil {
				t.Fatalf("login succeeded: %+v", l)
			}
			var oe *providers.OAuthError
			if tc.wantCode != "" && (!errors.As(err, &oe) || oe.Code != tc.wantCode) {
				t.Fatalf("err %v, want code %s", err, tc.wantCode)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Fatalf("err %q, want %q", err, tc.wantText)
			}
			if strings.Contains(err.Error(), "at-") || strings.Contains(err.Error(), clientSecret) || strings.Contains(err.Error(), "<html>") {
				t.Fatalf("error leaks a secret or the body: %v", err)
			}
		})
	}
}

func TestRefreshErrors(t *testing.T) {
	spec := newSpec()
	spec.Refresh = providertest.Response{Status: 503, Body: `{"error":"temporarily_unavailable"}`}
	f := providertest.New(t, spec)
	p := build(t, f, newConfig())
	l, err := login(t, p, authRequest())
	if err != nil {
		t.Fatal(err)
	}
	before := len(f.Requests())
	_, err = p.Refresh(context.Background(), providers.RefreshRequest{RefreshToken: l.Token.RefreshToken})
	if err == nil || providers.IsPermanent(err) {
		t.Fatalf("503: %v, want a transient error", err)
	}
	if n := len(f.Requests()) - before; n != 1 {
		t.Fatalf("%d requests for one refresh", n)
	}
	if _, err := p.Refresh(context.Background(), providers.RefreshRequest{}); !providers.IsPermanent(err) {
		t.Fatalf("empty refresh token: %v", err)
	}
}

func TestNewRefusesPlainHTTP(t *testing.T) {
	c := newConfig()
	c.TokenURL = "http://legacy.example/token"
	if _, err := oauth2.New(c, redirectURL, oauth2.Options{}); err == nil {
		t.Fatal("plain http accepted")
	}
	c = newConfig()
	if _, err := oauth2.New(c, "not a url", oauth2.Options{}); err == nil {
		t.Fatal("relative redirect URL accepted")
	}
}

func TestAuthCodeURLNeedsStateAndVerifier(t *testing.T) {
	p, err := oauth2.New(newConfig(), redirectURL, oauth2.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.AuthCodeURL(context.Background(), providers.AuthRequest{CodeVerifier: "v"}); err == nil {
		t.Fatal("no state accepted")
	}
	if _, err := p.AuthCodeURL(context.Background(), providers.AuthRequest{State: "s"}); err == nil {
		t.Fatal("no verifier accepted with PKCE on")
	}
	u, err := p.AuthCodeURL(context.Background(), providers.AuthRequest{State: "s", CodeVerifier: "v"})
	if err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse(u)
	if pu.Query().Get("redirect_uri") != redirectURL || pu.Query().Get("code_challenge_method") != "S256" {
		t.Fatalf("auth URL %s", u)
	}
	if p.Info().Type != "oauth2" || p.Info().DisplayName != "legacy" || p.Key() != "legacy" {
		t.Fatalf("info %+v", p.Info())
	}
}
