package presets_test

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/sessionbridge/sessionbridge/bridge/config"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testissuer"
	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/devissuer"
	"github.com/sessionbridge/sessionbridge/providers/oauth2"
	"github.com/sessionbridge/sessionbridge/providers/oidc"
	"github.com/sessionbridge/sessionbridge/providers/presets"
	"github.com/sessionbridge/sessionbridge/providers/providerconfig"
	"github.com/sessionbridge/sessionbridge/providers/providertest"
	"github.com/sessionbridge/sessionbridge/providers/registry"
)

// genericYAML uses every generic oauth2 key; it goes through config.Parse,
// whose reflection-based decoder must accept the new fields.
const genericYAML = `providers:
  legacy:
    type: oauth2
    client_id: ${LEGACY_ID}
    client_secret: legacy-secret-123
    auth_url: https://legacy.example/oauth/authorize
    token_url: https://legacy.example/oauth/token
    userinfo_url: https://api.legacy.example/v1/me
    userinfo_method: POST
    userinfo_headers: {X-Api-Version: "2", Client-Id: "{client_id}"}
    scope_separator: ","
    scopes: [read, profile]
    auth_style: post
    pkce: false
    refresh: false
    auth_params: {audience: bridge}
    claims: {uid: data.user.id, email: data.user.emails.0.value, email_verified: data.user.emails.0.verified, name: "data.user.first + data.user.last"}
`

func TestGenericOAuth2FromYAML(t *testing.T) {
	env := func(name string) (string, bool) { return "legacy-client", name == "LEGACY_ID" }
	c, err := config.Loader{Env: env, Types: registry.Types{}}.Parse("sb.yaml", []byte(genericYAML+secretsYAML()))
	if err != nil {
		t.Fatal(err)
	}
	pc := c.Providers["legacy"].Config.(*oauth2.Entry)
	if pc.UserinfoMethod != "POST" || pc.UserinfoHeaders["X-Api-Version"] != "2" || pc.ScopeSeparator != "," ||
		pc.Refresh == nil || *pc.Refresh || pc.AuthParams["audience"] != "bridge" {
		t.Fatalf("decoded %+v", pc)
	}
	me := "https://api.legacy.example/v1/me"
	f := providertest.New(t, providertest.Spec{
		ClientID: "legacy-client", ClientSecret: "legacy-secret-123", AuthStyle: "post",
		AuthURL: pc.AuthURL, TokenURL: pc.TokenURL,
		Token:      providertest.Response{ContentType: "application/x-www-form-urlencoded", Body: "access_token={access_token}&token_type=bearer&expires_in=3600"},
		APIs:       map[string]providertest.Response{me: {Body: `{"data":{"user":{"id":9007199254740993,"first":"Ada","last":"Lovelace","emails":[{"value":"ada@example.com","verified":true}]}}}`}},
		APIMethods: map[string]string{me: "POST"},
	})
	p, err := open(context.Background(), "legacy", pc, redirectFor("legacy"), providerconfig.Env{RewriteURL: f.Rewrite})
	if err != nil {
		t.Fatal(err)
	}
	req := newAuthRequest("legacy")
	u, err := p.AuthCodeURL(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	q, err := providertest.Authorize(u)
	if err != nil {
		t.Fatal(err)
	}
	a := f.LastAuthorize()
	if a.Get("scope") != "read,profile" || a.Get("audience") != "bridge" || a.Has("code_challenge") {
		t.Fatalf("authorize %v", a)
	}
	l, err := p.Exchange(context.Background(), providers.Callback{Code: q.Get("code")}, req)
	if err != nil {
		t.Fatal(err)
	}
	want := providers.Identity{Subject: "9007199254740993", Email: "ada@example.com", EmailVerified: true, Name: "Ada Lovelace"}
	if l.Identity != want {
		t.Fatalf("identity %+v", l.Identity)
	}
	requireHeader(t, f, me, "Client-Id", "legacy-client")
	requireHeader(t, f, me, "X-Api-Version", "2")
	n := len(f.Requests())
	var oe *providers.OAuthError
	if _, err := p.Refresh(context.Background(), providers.RefreshRequest{RefreshToken: "rt-x"}); !errors.As(err, &oe) || oe.Code != "unsupported_grant_type" || len(f.Requests()) != n {
		t.Fatalf("refresh: %v", err)
	}
}

// TestGenericOIDCExtras: type oidc accepts auth_params and refresh: false.
func TestGenericOIDCExtras(t *testing.T) {
	iss := testissuer.Start(t, devissuer.Options{ClientID: clientID, ClientSecret: clientSecret, RedirectURIs: []string{redirectFor("corp")},
		AutoApprove: &devissuer.User{Subject: "s1", Email: "a@example.com"}})
	base := iss.URL()
	no := false
	cfg := &oidc.Config{Issuer: base, ClientID: clientID, ClientSecret: clientSecret,
		AuthParams: map[string]string{"prompt": "login"}, Refresh: &no}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := open(ctx, "corp", cfg, redirectFor("corp"), providerconfig.Env{})
	if err != nil {
		t.Fatal(err)
	}
	waitReady(t, p)
	u, err := p.AuthCodeURL(context.Background(), newAuthRequest("corp"))
	if err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse(u)
	if pu.Query().Get("prompt") != "login" || pu.Query().Get("nonce") == "" {
		t.Fatalf("auth URL %s", u)
	}
	if _, err := p.Refresh(context.Background(), providers.RefreshRequest{RefreshToken: "x"}); !providers.IsPermanent(err) {
		t.Fatalf("refresh: %v", err)
	}
	if p.(interface{ Info() providers.Info }).Info().Type != "oidc" {
		t.Fatal("type")
	}
}

// TestPresetAuthStyleFromFile: a preset's own auth_style (Amazon's post)
// holds for an entry read from a file that does not set auth_style; the
// token endpoint refuses the credentials in a Basic header.
func TestPresetAuthStyleFromFile(t *testing.T) {
	doc := "providers:\n  amazon:\n    type: amazon\n    client_id: amzn-id\n    client_secret: amzn-secret-123\n"
	noEnv := func(string) (string, bool) { return "", false }
	c, err := config.Loader{Env: noEnv, Types: registry.Types{}}.Parse("sb.yaml", []byte(doc+secretsYAML()))
	if err != nil {
		t.Fatal(err)
	}
	pr, _ := presets.Lookup("amazon")
	if pr.AuthStyle != "post" {
		t.Fatalf("the amazon preset's auth_style is %q; pick a preset with post", pr.AuthStyle)
	}
	ep, err := pr.Expand(nil)
	if err != nil {
		t.Fatal(err)
	}
	f := providertest.New(t, providertest.Spec{
		ClientID: "amzn-id", ClientSecret: "amzn-secret-123", AuthStyle: "post", PKCE: pr.PKCE,
		AuthURL: ep.AuthURL, TokenURL: ep.TokenURL, Token: stdToken,
		APIs: map[string]providertest.Response{ep.UserinfoURL: {Body: `{"user_id":"amzn1.account.X","email":"a@example.com","name":"A"}`}},
	})
	p, err := open(context.Background(), "amazon", c.Providers["amazon"].Config, redirectFor("amazon"), providerconfig.Env{RewriteURL: f.Rewrite})
	if err != nil {
		t.Fatal(err)
	}
	req := newAuthRequest("amazon")
	u, err := p.AuthCodeURL(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	q, err := providertest.Authorize(u)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Exchange(context.Background(), providers.Callback{Code: q.Get("code"), Form: q}, req); err != nil {
		t.Fatalf("Exchange with the preset's client_secret_post: %v", err)
	}
}
