package config_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/sessionbridge/sessionbridge/bridge/config"
	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/oauth2"
	"github.com/sessionbridge/sessionbridge/providers/presets"
	"github.com/sessionbridge/sessionbridge/providers/providerconfig"
	"github.com/sessionbridge/sessionbridge/providers/providertest"
	"github.com/sessionbridge/sessionbridge/providers/registry"
)

// These tests run the provider types inside the configuration: entries
// decoded from YAML by this package, checked and opened by their types.
// They live here, not with the providers, because providers never import
// bridge/... (internal/walls).

var key32 = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))

func secretsYAML() string {
	return "secrets:\n  session_keys: [" + key32 + "]\n  token_keys: [" + key32 + "]\n"
}

// TestDescribeParsesAndBuilds checks that every preset's ready-to-paste
// block passes `check` (with the preset checker) once its variables are
// set, and that the result builds.
func TestDescribeParsesAndBuilds(t *testing.T) {
	_, p8 := providertest.AppleP8(t)
	env := func(name string) (string, bool) {
		switch {
		case strings.HasSuffix(name, "_PRIVATE_KEY"):
			return p8, true
		case strings.HasSuffix(name, "_BASE_URL"):
			return "https://idp.example.com", true
		case strings.HasSuffix(name, "_DOMAIN"):
			return "idp.example.com", true
		}
		return "value-123", true
	}
	loader := config.Loader{Env: env, Types: registry.Types{}}
	for _, name := range presets.Names() {
		doc := presets.Describe(name)
		if !strings.Contains(doc, "type: "+name+"\n") {
			t.Fatalf("%s: describe output:\n%s", name, doc)
		}
		c, err := loader.Parse("sb.yaml", []byte(doc+secretsYAML()))
		if err != nil {
			t.Errorf("%s: the described block does not pass check:\n%v\n%s", name, err, doc)
			continue
		}
		pc := c.Providers[name]
		pe := pc.Config.(*presets.Entry)
		pr, _ := presets.Lookup(name)
		if pc.DisplayName != pr.DisplayName || len(pe.Settings) != len(pr.RequiredSettings()) {
			t.Errorf("%s: parsed %+v", name, pe)
		}
		ctx, cancel := context.WithCancel(context.Background())
		_, err = providertest.Open(ctx, name, pe, providertest.RedirectURL(name), providerconfig.Env{RewriteURL: func(string) string { return "http://127.0.0.1:1/x" }})
		cancel()
		if err != nil {
			t.Errorf("%s: Build: %v", name, err)
		}
	}
	if presets.Describe("nope") != "" {
		t.Error("Describe of an unknown preset")
	}
}

// TestCheckThroughConfig runs the checker inside `check`: problems carry
// the file's line numbers.
func TestCheckThroughConfig(t *testing.T) {
	doc := "providers:\n  corp:\n    type: okta\n    client_id: ${OKTA_ID}\n    client_secret: s3cret\n    settings:\n      domian: example.okta.com\n" + secretsYAML()
	env := func(name string) (string, bool) { return "", name == "OKTA_ID" }
	_, err := config.Loader{Env: env, Types: registry.Types{}}.Parse("sb.yaml", []byte(doc))
	var ps config.Problems
	if !errors.As(err, &ps) {
		t.Fatalf("err %v", err)
	}
	out := ps.Error()
	for _, want := range []string{
		`sb.yaml:4: providers.corp.client_id: is required`,
		`sb.yaml:7: providers.corp.settings.domian: unknown setting "domian" for preset okta (did you mean "domain"?)`,
		`providers.corp.settings.domain: is required for preset okta`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("problems lack %q:\n%s", want, out)
		}
	}
}

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
	p, err := providertest.Open(context.Background(), "legacy", pc, providertest.RedirectURL("legacy"), providerconfig.Env{RewriteURL: f.Rewrite})
	if err != nil {
		t.Fatal(err)
	}
	req := providertest.NewAuthRequest("legacy")
	q := providertest.AuthorizeLogin(t, p, req)
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
	f.RequireHeader(t, me, "Client-Id", "legacy-client")
	f.RequireHeader(t, me, "X-Api-Version", "2")
	n := len(f.Requests())
	var oe *providers.OAuthError
	if _, err := p.Refresh(context.Background(), providers.RefreshRequest{RefreshToken: "rt-x"}); !errors.As(err, &oe) || oe.Code != "unsupported_grant_type" || len(f.Requests()) != n {
		t.Fatalf("refresh: %v", err)
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
		AuthURL: ep.AuthURL, TokenURL: ep.TokenURL, Token: providertest.StdToken,
		APIs: map[string]providertest.Response{ep.UserinfoURL: {Body: `{"user_id":"amzn1.account.X","email":"a@example.com","name":"A"}`}},
	})
	p, err := providertest.Open(context.Background(), "amazon", c.Providers["amazon"].Config, providertest.RedirectURL("amazon"), providerconfig.Env{RewriteURL: f.Rewrite})
	if err != nil {
		t.Fatal(err)
	}
	req := providertest.NewAuthRequest("amazon")
	q := providertest.AuthorizeLogin(t, p, req)
	if _, err := p.Exchange(context.Background(), providers.Callback{Code: q.Get("code"), Form: q}, req); err != nil {
		t.Fatalf("Exchange with the preset's client_secret_post: %v", err)
	}
}
