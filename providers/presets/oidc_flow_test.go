package presets_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/internal/devissuer"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testissuer"
	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/oidc"
	"github.com/sessionbridge/sessionbridge/providers/presets"
	"github.com/sessionbridge/sessionbridge/providers/providerconfig"
	"github.com/sessionbridge/sessionbridge/providers/providertest"
)

// oidcCase is an OpenID Connect preset: the issuer its settings must
// expand to and the authorization parameters it must add.
type oidcCase struct {
	settings   map[string]string
	issuer     string
	authParams map[string]string
	// claims are the provider's own ID token claims; uid is the
	// providerUid they make ("" : the sub).
	claims map[string]any
	uid    string
}

var oidcCases = map[string]oidcCase{
	"auth0":       {settings: map[string]string{"domain": "example.eu.auth0.com"}, issuer: "https://example.eu.auth0.com/"},
	"authentik":   {settings: map[string]string{"base_url": "https://authentik.example.com", "slug": "bridge"}, issuer: "https://authentik.example.com/application/o/bridge/"},
	"aws-cognito": {settings: map[string]string{"region": "eu-west-1", "user_pool_id": "eu-west-1_AbCdEf123"}, issuer: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"},
	"gitlab":      {issuer: "https://gitlab.com"},
	"google":      {issuer: "https://accounts.google.com", authParams: map[string]string{"access_type": "offline", "prompt": "consent"}},
	"huggingface": {issuer: "https://huggingface.co"},
	"keycloak":    {settings: map[string]string{"base_url": "https://sso.example.com", "realm": "staff"}, issuer: "https://sso.example.com/realms/staff"},
	"okta":        {settings: map[string]string{"domain": "example.okta.com"}, issuer: "https://example.okta.com/oauth2/default"},
	"salesforce":  {settings: map[string]string{"base_url": "https://acme.my.salesforce.com"}, issuer: "https://acme.my.salesforce.com"},
	"slack":       {issuer: "https://slack.com", claims: map[string]any{"https://slack.com/team_id": "T0123"}, uid: "T0123:user-slack"},
	"yahoo":       {issuer: "https://api.login.yahoo.com"},
}

// TestOIDCPresets logs in to every OpenID Connect preset through the
// repository's OpenID provider (devissuer), with the preset's issuer
// (expanded from its settings) rewritten to it, and refreshes once. The
// token endpoint demands the preset's client authentication style.
func TestOIDCPresets(t *testing.T) {
	for name, tc := range oidcCases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			pr, _ := presets.Lookup(name)
			key := "corp-" + name
			user := &devissuer.User{Subject: "user-" + name, Email: "ada@example.com", Name: "Ada Lovelace", EmailVerified: true}
			iss := testissuer.Start(t, devissuer.Options{
				ClientID: clientID, ClientSecret: clientSecret, RedirectURIs: []string{providertest.RedirectURL(key)},
				RotateRefreshTokens: true, AutoApprove: user, NoPKCE: !pr.PKCE, ExtraIDTokenClaims: tc.claims,
			})
			base := iss.URL()
			iss.SetFaults(testissuer.Faults{RequireBasicAuth: pr.AuthStyle == "basic", RequirePostAuth: pr.AuthStyle == "post"})

			var seen string
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel)
			cfg := &presets.Entry{Name: name, ClientID: clientID, ClientSecret: clientSecret, Settings: tc.settings}
			p, err := providertest.Open(ctx, key, cfg, providertest.RedirectURL(key), providerconfig.Env{RewriteURL: func(u string) string { seen = u; return base }})
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			if seen != tc.issuer {
				t.Fatalf("issuer %q, want %q", seen, tc.issuer)
			}
			waitReady(t, p)
			if info := p.(interface{ Info() providers.Info }).Info(); info.Type != name {
				t.Errorf("info %+v", info)
			}

			req := providertest.NewAuthRequest(key)
			u, err := p.AuthCodeURL(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			pu, _ := url.Parse(u)
			for k, v := range tc.authParams {
				if pu.Query().Get(k) != v {
					t.Errorf("authorization URL lacks %s=%s: %s", k, v, u)
				}
			}
			for _, s := range pr.Scopes {
				if !strings.Contains(" "+pu.Query().Get("scope")+" ", " "+s+" ") {
					t.Errorf("scope %q lacks %s", pu.Query().Get("scope"), s)
				}
			}
			q, err := providertest.Authorize(u)
			if err != nil {
				t.Fatal(err)
			}
			l, err := p.Exchange(context.Background(), providers.Callback{Code: q.Get("code"), Iss: q.Get("iss"), HasIss: q.Has("iss"), Form: q}, req)
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			want := providers.Identity{Subject: user.Subject, Email: user.Email, EmailVerified: true, Name: user.Name}
			if tc.uid != "" {
				want.Subject, want.PreviousSubject = tc.uid, user.Subject
			}
			if l.Identity != want {
				t.Errorf("identity %+v, want %+v", l.Identity, want)
			}
			if l.Token.AccessToken == "" || l.Token.RefreshToken == "" || l.Token.IDToken == "" || l.Token.Expiry.IsZero() {
				t.Errorf("token %v", l.Token)
			}
			tok, err := p.Refresh(context.Background(), providers.RefreshRequest{RefreshToken: l.Token.RefreshToken, Subject: l.Identity.Subject})
			if err != nil {
				t.Fatalf("Refresh: %v", err)
			}
			if tok.AccessToken == l.Token.AccessToken || tok.RefreshToken == l.Token.RefreshToken {
				t.Errorf("refresh did not rotate: %v", tok)
			}
			// Discovery names the revocation endpoint; revoking ends the grant.
			rv := p.(providers.Revoker)
			wantScope := providers.RevokesGrant
			if pr.Revocation == presets.RevocationToken {
				wantScope = providers.RevokesToken
			}
			if got := rv.RevocationScope(); got != wantScope {
				t.Errorf("revocation scope %q, want %q", got, wantScope)
			}
			if err := rv.RevokeToken(context.Background(), providers.RevokeRequest{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken}); err != nil {
				t.Fatalf("RevokeToken: %v", err)
			}
			if iss.IsLatestRefreshToken(tok.RefreshToken) {
				t.Error("the refresh token is still live after revocation")
			}
		})
	}
}

func waitReady(t *testing.T, p providers.Provider) {
	t.Helper()
	var op *oidc.Provider
	switch v := p.(type) {
	case *oidc.Provider:
		op = v
	case interface{ Unwrap() *oidc.Provider }:
		op = v.Unwrap()
	default:
		t.Fatalf("not an OIDC provider: %T", p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := op.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestDeadRefreshTokensAnsweredAsSuccess: GitHub and Slack answer a dead
// refresh token with HTTP 200 and their own error code; the presets take
// it for invalid_grant (permanent), not for a transient failure.
func TestDeadRefreshTokensAnsweredAsSuccess(t *testing.T) {
	t.Run("github bad_refresh_token", func(t *testing.T) {
		gh := oauthCases["github"]
		pr, _ := presets.Lookup("github")
		apis := map[string]providertest.Response{}
		for u, body := range gh.apis {
			apis[u] = providertest.Response{Body: body}
		}
		f := providertest.New(t, providertest.Spec{
			ClientID: clientID, ClientSecret: clientSecret, AuthStyle: pr.AuthStyle, PKCE: true,
			AuthURL: pr.AuthURL, TokenURL: pr.TokenURL, Token: gh.token,
			Refresh: providertest.Response{Status: 200, Body: `{"error":"bad_refresh_token","error_description":"The refresh token passed is incorrect or expired.","error_uri":"https://docs.github.com"}`},
			APIs:    apis,
		})
		p, err := providertest.Open(context.Background(), "gh", &presets.Entry{Name: "github", ClientID: clientID, ClientSecret: clientSecret},
			providertest.RedirectURL("gh"), providerconfig.Env{RewriteURL: f.Rewrite})
		if err != nil {
			t.Fatal(err)
		}
		req := providertest.NewAuthRequest("gh")
		q := providertest.AuthorizeLogin(t, p, req)
		// A refresh token the fake issued, so the answer is the configured
		// 200 with GitHub's error, not the fake's own invalid_grant.
		l, err := p.Exchange(context.Background(), providers.Callback{Code: q.Get("code"), Form: q}, req)
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Refresh(context.Background(), providers.RefreshRequest{RefreshToken: l.Token.RefreshToken})
		requireInvalidGrant(t, err)
	})
	t.Run("slack invalid_refresh_token", func(t *testing.T) {
		user := &devissuer.User{Subject: "U123", Email: "ada@example.com", Name: "Ada", EmailVerified: true}
		iss := testissuer.Start(t, devissuer.Options{ClientID: clientID, ClientSecret: clientSecret, RotateRefreshTokens: true, AutoApprove: user})
		iss.SetFaults(testissuer.Faults{Refresh200WithError: true, Refresh200ErrorCode: "invalid_refresh_token"})
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		p, err := providertest.Open(ctx, "sl", &presets.Entry{Name: "slack", ClientID: clientID, ClientSecret: clientSecret},
			providertest.RedirectURL("sl"), providerconfig.Env{RewriteURL: func(string) string { return iss.URL() }})
		if err != nil {
			t.Fatal(err)
		}
		waitReady(t, p)
		_, err = p.Refresh(context.Background(), providers.RefreshRequest{RefreshToken: "rt-dead-0123456789"})
		requireInvalidGrant(t, err)
	})
}

func requireInvalidGrant(t *testing.T, err error) {
	t.Helper()
	var oe *providers.OAuthError
	if !errors.As(err, &oe) || oe.Code != "invalid_grant" || !providers.IsPermanent(err) {
		t.Fatalf("refresh error %v, want a permanent invalid_grant", err)
	}
}

// TestSlackUIDNeedsTheTeam: a Slack ID token without the team claim is
// refused (no UID that could collide across workspaces), and a session
// stored by an earlier version, under the bare user ID, still refreshes.
func TestSlackUIDNeedsTheTeam(t *testing.T) {
	user := &devissuer.User{Subject: "U42", Email: "ada@example.com", Name: "Ada", EmailVerified: true}
	iss := testissuer.Start(t, devissuer.Options{ClientID: clientID, ClientSecret: clientSecret, RotateRefreshTokens: true, AutoApprove: user})
	iss.SetFaults(testissuer.Faults{RequirePostAuth: true})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	p, err := providertest.Open(ctx, "sl", &presets.Entry{Name: "slack", ClientID: clientID, ClientSecret: clientSecret},
		providertest.RedirectURL("sl"), providerconfig.Env{RewriteURL: func(string) string { return iss.URL() }})
	if err != nil {
		t.Fatal(err)
	}
	waitReady(t, p)
	req := providertest.NewAuthRequest("sl")
	q := providertest.AuthorizeLogin(t, p, req)
	_, err = p.Exchange(context.Background(), providers.Callback{Code: q.Get("code"), Iss: q.Get("iss"), HasIss: q.Has("iss"), Form: q}, req)
	var ve *providers.VerificationError
	if !errors.As(err, &ve) || ve.Check != "uid" {
		t.Fatalf("login without the team claim: %v, want a uid verification error", err)
	}
	// A grant stored under the bare user ID by an earlier version.
	rt := issueRefreshToken(t, iss, user)
	if _, err := p.Refresh(context.Background(), providers.RefreshRequest{RefreshToken: rt, Subject: "U42"}); err != nil {
		t.Fatalf("refresh of a session stored under the bare user ID: %v", err)
	}
}

// issueRefreshToken logs in at iss directly (generic OIDC) and returns the
// refresh token.
func issueRefreshToken(t *testing.T, iss *testissuer.Issuer, user *devissuer.User) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	p, err := providertest.Open(ctx, "gen", &oidc.Config{Issuer: iss.URL(), ClientID: clientID, ClientSecret: clientSecret, AuthStyle: "post"},
		providertest.RedirectURL("gen"), providerconfig.Env{})
	if err != nil {
		t.Fatal(err)
	}
	waitReady(t, p)
	req := providertest.NewAuthRequest("gen")
	q := providertest.AuthorizeLogin(t, p, req)
	l, err := p.Exchange(context.Background(), providers.Callback{Code: q.Get("code"), Iss: q.Get("iss"), HasIss: q.Has("iss"), Form: q}, req)
	if err != nil {
		t.Fatal(err)
	}
	return l.Token.RefreshToken
}
