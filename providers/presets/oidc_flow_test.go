package presets_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/config"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testissuer"
	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/devissuer"
	"github.com/sessionbridge/sessionbridge/providers/oidc"
	"github.com/sessionbridge/sessionbridge/providers/presets"
	"github.com/sessionbridge/sessionbridge/providers/providertest"
)

// oidcCase is an OpenID Connect preset: the issuer its settings must
// expand to and the authorization parameters it must add.
type oidcCase struct {
	settings   map[string]string
	issuer     string
	authParams map[string]string
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
	"slack":       {issuer: "https://slack.com"},
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
				ClientID: clientID, ClientSecret: clientSecret, RedirectURIs: []string{redirectFor(key)},
				RotateRefreshTokens: true, AutoApprove: user, NoPKCE: !pr.PKCE,
			})
			base := iss.URL()
			iss.SetFaults(devissuer.Faults{RequireBasicAuth: pr.AuthStyle == "basic", RequirePostAuth: pr.AuthStyle == "post"})

			var seen string
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel)
			cfg := config.Provider{Key: key, Type: name, ClientID: clientID, ClientSecret: clientSecret, Settings: tc.settings}
			p, err := presets.Build(ctx, cfg, redirectFor(key), presets.Options{RewriteURL: func(u string) string { seen = u; return base }})
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			if seen != tc.issuer {
				t.Fatalf("issuer %q, want %q", seen, tc.issuer)
			}
			waitReady(t, p)
			if info := p.(providers.Describer).Info(); info.Type != name {
				t.Errorf("info %+v", info)
			}

			req := newAuthRequest(key)
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
			if l.Identity != want {
				t.Errorf("identity %+v, want %+v", l.Identity, want)
			}
			if l.Token.AccessToken == "" || l.Token.RefreshToken == "" || l.Token.IDToken == "" || l.Token.Expiry.IsZero() {
				t.Errorf("token %v", l.Token)
			}
			tok, err := p.Refresh(context.Background(), providers.RefreshRequest{RefreshToken: l.Token.RefreshToken, Subject: user.Subject})
			if err != nil {
				t.Fatalf("Refresh: %v", err)
			}
			if tok.AccessToken == l.Token.AccessToken || tok.RefreshToken == l.Token.RefreshToken {
				t.Errorf("refresh did not rotate: %v", tok)
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
