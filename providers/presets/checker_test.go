package presets_test

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/oauth2"
	"github.com/sessionbridge/sessionbridge/providers/oidc"
	"github.com/sessionbridge/sessionbridge/providers/presets"
	"github.com/sessionbridge/sessionbridge/providers/providerconfig"
	"github.com/sessionbridge/sessionbridge/providers/providertest"
)

// issueNames are the presets the issue requires.
var issueNames = strings.Fields(`amazon apple auth0 authentik autodesk bitbucket bitly box dailymotion
	discord disqus dropbox etsy facebook figma fusionauth github gitlab google huggingface keycloak kick
	linkedin microsoft notion okta paypal paypal-sandbox podio salesforce slack spotify stripe tradeshift
	tradeshift-sandbox twitch wordpress x yahoo yammer yandex zoho zoom gitea aws-cognito reddit patreon`)

func TestNamesCoverTheIssue(t *testing.T) {
	names := presets.Names()
	if !slices.IsSorted(names) {
		t.Error("Names is not sorted")
	}
	for _, n := range issueNames {
		if !slices.Contains(names, n) {
			t.Errorf("preset %s missing", n)
		}
	}
	if _, ok := presets.Lookup("nope"); ok {
		t.Error("Lookup of an unknown name succeeded")
	}
	p, _ := presets.Lookup("google")
	p.Scopes[0] = "mutated"
	if q, _ := presets.Lookup("google"); q.Scopes[0] == "mutated" {
		t.Error("Lookup returns shared data")
	}
}

func TestCheckerErrors(t *testing.T) {
	base := func(typ string) providerconfig.Config {
		return entryOf(typ, &presets.Entry{ClientID: "id", ClientSecret: "secret"})
	}
	with := func(typ string, f func(*presets.Entry)) providerconfig.Config {
		e := &presets.Entry{ClientID: "id", ClientSecret: "secret"}
		f(e)
		return entryOf(typ, e)
	}
	for _, tc := range []struct {
		name  string
		p     providerconfig.Config
		field string
		want  string
	}{
		{"typo", base("githb"), "type", `did you mean "github"`},
		{"typo2", base("gogle"), "type", `"google"`},
		{"far off", base("zzzzzzzzzz"), "type", "valid types"},
		{"no client id", with("github", func(p *presets.Entry) { p.ClientID = "" }), "client_id", "is required"},
		{"no secret", with("github", func(p *presets.Entry) { p.ClientSecret = "" }), "client_secret", "environment variable"},
		{"missing setting", base("okta"), "settings.domain", "is required for preset okta"},
		{"empty setting", with("okta", func(p *presets.Entry) { p.Settings = map[string]string{"domain": ""} }), "settings.domain", "is empty"},
		{"unknown setting", with("microsoft", func(p *presets.Entry) { p.Settings = map[string]string{"tennant": "x"} }), "settings.tennant", `did you mean "tenant"`},
		{"no settings taken", with("github", func(p *presets.Entry) { p.Settings = map[string]string{"x": "y"} }), "settings.x", "takes no settings"},
		{"host with scheme", with("okta", func(p *presets.Entry) { p.Settings = map[string]string{"domain": "https://example.okta.com"} }), "settings.domain", "not a host name"},
		{"http base url", with("keycloak", func(p *presets.Entry) {
			p.Settings = map[string]string{"base_url": "http://sso.example.com", "realm": "r"}
		}), "settings.base_url", "https"},
		{"trailing slash", with("keycloak", func(p *presets.Entry) {
			p.Settings = map[string]string{"base_url": "https://sso.example.com/", "realm": "r"}
		}), "settings.base_url", "must not end with '/'"},
		{"bad segment", with("keycloak", func(p *presets.Entry) {
			p.Settings = map[string]string{"base_url": "https://sso.example.com", "realm": "a/b"}
		}), "settings.realm", "may contain only"},
		{"oidc preset claims", with("google", func(p *presets.Entry) { p.Claims = map[string]string{"uid": "id"} }), "claims", "does not apply"},
		{"oidc preset auth_url", with("google", func(p *presets.Entry) { p.AuthURL = "https://x.example/a" }), "auth_url", "does not apply"},
		{"oidc preset bad issuer", with("google", func(p *presets.Entry) { p.Issuer = "http://x.example" }), "issuer", "https"},
		{"oauth2 preset issuer", with("github", func(p *presets.Entry) { p.Issuer = "https://x.example" }), "issuer", "does not apply"},
		{"oauth2 preset bad override", with("github", func(p *presets.Entry) { p.TokenURL = "http://x.example/t" }), "token_url", "https"},
		{"userinfo method", with("github", func(p *presets.Entry) { p.UserinfoMethod = "PUT" }), "userinfo_method", "GET or POST"},
		{"scope separator", with("github", func(p *presets.Entry) { p.ScopeSeparator = ";;" }), "scope_separator", "one character"},
		{"reserved auth param", with("google", func(p *presets.Entry) { p.AuthParams = map[string]string{"state": "x"} }), "auth_params.state", "set by the login"},
		{"header name", with("github", func(p *presets.Entry) { p.UserinfoHeaders = map[string]string{"Bad Header": "x"} }), "userinfo_headers.Bad Header", "not a valid"},
		{"claim path", with("github", func(p *presets.Entry) { p.Claims = map[string]string{"uid": "a..b"} }), "claims.uid", "empty segment"},
		{"generic settings", with("oauth2", func(p *presets.Entry) { p.Settings = map[string]string{"a": "b"} }), "settings", "only to presets"},
		{"generic oidc userinfo", with("oidc", func(p *presets.Entry) { p.UserinfoMethod = "POST" }), "userinfo_method", "only to type oauth2"},
		{"generic oauth2 path", with("oauth2", func(p *presets.Entry) { p.Claims = map[string]string{"uid": "data..id"} }), "claims.uid", "empty segment"},
		{"apple key missing", with("apple", func(p *presets.Entry) {
			p.ClientSecret = ""
			p.Settings = map[string]string{"team_id": "T", "key_id": "K"}
		}), "settings.private_key", "is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := tc.p.Check()
			for _, e := range errs {
				if e.Field == tc.field && strings.Contains(e.Message, tc.want) {
					return
				}
			}
			t.Fatalf("errors %+v, want %s: ...%s...", errs, tc.field, tc.want)
		})
	}
	ok := base("microsoft")
	if errs := ok.Check(); len(errs) > 0 {
		t.Fatalf("valid microsoft: %v", errs)
	}
	// Without a display_name the provider shows the preset's.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := providertest.Open(ctx, "k", ok, providertest.RedirectURL("k"), providerconfig.Env{RewriteURL: func(string) string { return "http://127.0.0.1:1/x" }})
	if err != nil {
		t.Fatal(err)
	}
	if info := p.(interface{ Info() providers.Info }).Info(); info.DisplayName != "Microsoft" {
		t.Fatalf("display %q", info.DisplayName)
	}
}

// entryOf is e as the configuration of type typ: the preset's entry, or
// for the built-in types their own configuration with the keys the tests
// set.
func entryOf(typ string, e *presets.Entry) providerconfig.Config {
	switch typ {
	case "oidc":
		return &oidc.Config{ClientID: e.ClientID, ClientSecret: e.ClientSecret, Issuer: e.Issuer, UserinfoMethod: e.UserinfoMethod,
			Claims: e.Claims, Settings: e.Settings, AuthParams: e.AuthParams}
	case "oauth2":
		return &oauth2.Entry{ClientID: e.ClientID, ClientSecret: e.ClientSecret, Issuer: e.Issuer, UserinfoMethod: e.UserinfoMethod,
			Claims: e.Claims, Settings: e.Settings, AuthParams: e.AuthParams}
	}
	e.Name = typ
	return e
}

func TestBuildRejectsInvalid(t *testing.T) {
	for name, p := range map[string]providerconfig.Config{
		"githb":  &presets.Entry{Name: "githb", ClientID: "a", ClientSecret: "b"},
		"okta":   &presets.Entry{Name: "okta", ClientID: "a", ClientSecret: "b"},
		"oauth2": &oauth2.Entry{ClientID: "a", AuthURL: "http://x.example/a", TokenURL: "https://x.example/t", Claims: map[string]string{"uid": "id"}},
		"oidc":   &oidc.Config{ClientID: "a"},
	} {
		if _, err := providertest.Open(context.Background(), "k", p, providertest.RedirectURL("k"), providerconfig.Env{}); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	if err := presets.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.HasPrefix(out, "NAME") || !strings.Contains(out, "REQUIRED SETTINGS") {
		t.Fatalf("table:\n%s", out)
	}
	for _, n := range presets.Names() {
		if !strings.Contains(out, "\n"+n+" ") {
			t.Errorf("table lacks %s", n)
		}
	}
	if !strings.Contains(out, "domain, authorization_server") && !strings.Contains(out, "okta ") {
		t.Error("okta row")
	}
}

// TestDocsUpToDate fails when docs/providers.md no longer matches the data.
func TestDocsUpToDate(t *testing.T) {
	got, err := os.ReadFile("../../docs/providers.md")
	if err != nil {
		t.Fatalf("%v (generate it: go generate ./providers/presets)", err)
	}
	if !bytes.Equal(got, presets.Markdown()) {
		t.Fatal("docs/providers.md is stale: run `go generate ./providers/presets` and commit the result")
	}
}

func TestRPInitiatedLogoutOnlyForOpenIDConnect(t *testing.T) {
	p := &presets.Entry{Name: "github", ClientID: "id", ClientSecret: "secret", RPInitiatedLogout: true}
	errs := p.Check()
	if len(errs) != 1 || errs[0].Field != "rp_initiated_logout" {
		t.Fatalf("rp_initiated_logout on github: %v, want one error on that key", errs)
	}
	p = &presets.Entry{Name: "okta", ClientID: "id", ClientSecret: "secret", RPInitiatedLogout: true, Settings: map[string]string{"domain": "example.okta.com"}}
	if errs := p.Check(); len(errs) != 0 {
		t.Fatalf("rp_initiated_logout on okta: %v", errs)
	}
}

// TestPKCEAndRefreshColumnsTellTheTruth: the presets whose providers do
// not document PKCE say so, and GitHub's refresh column is qualified.
func TestPKCEAndRefreshColumnsTellTheTruth(t *testing.T) {
	var buf strings.Builder
	if err := presets.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, line := range strings.Split(buf.String(), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			rows[f[0]] = line
		}
	}
	undocumented := strings.Fields("bitbucket bitly box dailymotion disqus figma notion patreon paypal paypal-sandbox podio reddit slack stripe tradeshift tradeshift-sandbox twitch wordpress yahoo yammer zoho")
	for _, name := range presets.Names() {
		p, _ := presets.Lookup(name)
		want := "documented"
		switch {
		case !p.PKCE:
			want = "off"
		case slices.Contains(undocumented, name):
			want = "sent (undocumented)"
		}
		if !strings.Contains(rows[name], "  "+want+"  ") {
			t.Errorf("%s: row %q does not say PKCE %q", name, rows[name], want)
		}
	}
	if !strings.Contains(rows["github"], "yes (GitHub Apps with expiring user tokens only)") {
		t.Errorf("github's refresh column is not qualified: %q", rows["github"])
	}
	if !strings.Contains(string(presets.Markdown()), "| sent (undocumented) |") {
		t.Error("docs/providers.md does not say sent (undocumented)")
	}
}

// TestRotationNotes: every provider that rotates refresh tokens, or can
// detect their reuse, says so in its preset and cites its documentation.
func TestRotationNotes(t *testing.T) {
	for _, name := range strings.Fields("x zoom box gitlab autodesk notion huggingface authentik github slack auth0 okta keycloak fusionauth") {
		p, _ := presets.Lookup(name)
		if p.Rotation == "" || !strings.HasPrefix(p.Refs["rotation"], "https://") {
			t.Errorf("%s: rotation note %q, source %q", name, p.Rotation, p.Refs["rotation"])
		}
	}
}

func TestUIDClaimsIncludeSub(t *testing.T) {
	for _, name := range presets.Names() {
		p, _ := presets.Lookup(name)
		if len(p.UIDClaims) > 0 && (p.Kind != presets.KindOIDC || !slices.Contains(p.UIDClaims, "sub")) {
			t.Errorf("%s: uid_claims %v must be on an oidc preset and include sub", name, p.UIDClaims)
		}
	}
}
