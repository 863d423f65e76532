package presets_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/presets"
	"github.com/sessionbridge/sessionbridge/providers/providerconfig"
	"github.com/sessionbridge/sessionbridge/providers/providertest"
)

type testingT = testing.TB

const (
	clientID     = "client-123"
	clientSecret = "secret-abcdefgh"
)

var fixedNow = time.Date(2026, 11, 28, 9, 30, 0, 0, time.UTC)

func requireHeaderPrefix(t testingT, f *providertest.Fake, url, name, prefix string) {
	t.Helper()
	r, ok := f.FindRequest(url)
	if !ok || !strings.HasPrefix(r.Header.Get(name), prefix) {
		t.Errorf("request to %s: header %s = %q, want prefix %q", url, name, r.Header.Get(name), prefix)
	}
}

func requireQuery(t testingT, f *providertest.Fake, url, name, want string) {
	t.Helper()
	r, ok := f.FindRequest(url)
	if !ok || r.Form.Get(name) != want {
		t.Errorf("request to %s: %s = %q, want %q", url, name, r.Form.Get(name), want)
	}
}

// TestEveryPresetHasALoginTest makes a new preset without a test fail.
func TestEveryPresetHasALoginTest(t *testing.T) {
	for _, name := range presets.Names() {
		p, _ := presets.Lookup(name)
		_, plain := oauthCases[name]
		_, oidc := oidcCases[name]
		if !plain && !oidc && name != "apple" {
			t.Errorf("preset %s (%s) has no login test", name, p.Kind)
		}
		if plain && p.Kind != presets.KindOAuth2 || oidc && p.Kind != presets.KindOIDC {
			t.Errorf("preset %s is tested as the wrong kind", name)
		}
	}
}

// TestOAuth2Presets runs, for every plain-OAuth2 preset, a full login and
// a refresh (or checks that refresh is refused without a request) against
// a fake answering in that provider's documented shapes.
func TestOAuth2Presets(t *testing.T) {
	for name, tc := range oauthCases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			runOAuthCase(t, name, tc)
		})
	}
}

// TestQuirkFallbacks covers the quirks' other branches.
func TestQuirkFallbacks(t *testing.T) {
	gh := oauthCases["github"]
	gh.apis = map[string]string{"https://api.github.com/user": `{"login":"octocat","id":583231,"name":null,"email":"public@example.com"}`}
	gh.want = providers.Identity{Subject: "583231", Email: "public@example.com", Name: "octocat"}
	t.Run("github without user:email", func(t *testing.T) { runOAuthCase(t, "github", gh) })

	ms := oauthCases["microsoft"]
	ms.settings = nil
	ms.apis = map[string]string{"https://graph.microsoft.com/v1.0/me": `{"displayName":"Guest","mail":null,"userPrincipalName":"guest_example.com#EXT#@contoso.onmicrosoft.com","id":"g-1"}`}
	ms.want = providers.Identity{Subject: "g-1", Name: "Guest"}
	t.Run("microsoft guest", func(t *testing.T) { runOAuthCase(t, "microsoft", ms) })

	ms2 := oauthCases["microsoft"]
	ms2.apis = map[string]string{"https://graph.microsoft.com/v1.0/me": `{"displayName":"Adele","mail":"adele@contoso.com","userPrincipalName":"a@contoso.com","id":"m-1"}`}
	ms2.want = providers.Identity{Subject: "m-1", Email: "adele@contoso.com", Name: "Adele"}
	t.Run("microsoft mail", func(t *testing.T) { runOAuthCase(t, "microsoft", ms2) })
}

func runOAuthCase(t *testing.T, name string, tc oauthCase) {
	t.Helper()
	pr, ok := presets.Lookup(name)
	if !ok {
		t.Fatalf("no preset %s", name)
	}
	ep, err := pr.Expand(tc.settings)
	if err != nil {
		t.Fatal(err)
	}
	spec := providertest.Spec{
		ClientID: clientID, ClientSecret: clientSecret, AuthStyle: pr.AuthStyle, PKCE: pr.PKCE,
		AuthURL: ep.AuthURL, TokenURL: ep.TokenURL, RefreshURL: ep.RefreshURL,
		Token: tc.token, Refresh: tc.refresh, APIs: map[string]providertest.Response{}, APIMethods: tc.methods,
		JSONTokenRequests: pr.TokenBody == "json", RevocationURL: ep.RevocationURL,
	}
	if tc.fake != nil {
		tc.fake(&spec)
	}
	key := "my-" + name
	cfg := &presets.Entry{Name: name, ClientID: clientID, ClientSecret: clientSecret, Settings: tc.settings}
	if pr.NoClientSecret {
		spec.AuthStyle, spec.ClientSecret, cfg.ClientSecret = "public", "", ""
	}
	if spec.Token.Body == "" {
		spec.Token = providertest.StdToken
	}
	if spec.Refresh.Body == "" {
		spec.Refresh = stdRefresh
	}
	for u, body := range tc.apis {
		spec.APIs[u] = providertest.Response{Body: body}
	}
	f := providertest.New(t, spec)
	p, err := providertest.Open(context.Background(), key, cfg, providertest.RedirectURL(key),
		providerconfig.Env{RewriteURL: f.Rewrite, Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if info := p.(interface{ Info() providers.Info }).Info(); info.Type != name || info.DisplayName != pr.DisplayName || p.Key() != key {
		t.Errorf("info %+v", info)
	}
	req := providertest.NewAuthRequest(key)
	q := providertest.AuthorizeLogin(t, p, req)
	auth := f.LastAuthorize()
	if want := strings.Join(pr.Scopes, sep(pr.ScopeSeparator)); auth.Get("scope") != want {
		t.Errorf("scope %q, want %q", auth.Get("scope"), want)
	}
	l, err := p.Exchange(context.Background(), providers.Callback{Code: q.Get("code"), Form: q}, req)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if l.Identity != tc.want {
		t.Errorf("identity %+v\n want %+v", l.Identity, tc.want)
	}
	if !strings.HasPrefix(l.Token.AccessToken, "at-") {
		t.Errorf("access token %v", l.Token)
	}
	if hasRT := strings.HasPrefix(l.Token.RefreshToken, "rt-"); hasRT == tc.noRefreshToken {
		t.Errorf("refresh token present=%v, want %v", hasRT, !tc.noRefreshToken)
	}
	if l.Token.Expiry.IsZero() != tc.noExpiry || (!tc.noExpiry && !l.Token.Expiry.After(fixedNow)) {
		t.Errorf("expiry %v (noExpiry %v)", l.Token.Expiry, tc.noExpiry)
	}
	if tc.check != nil {
		tc.check(t, f)
	}
	checkRefresh(t, p, f, pr, l)
	checkRevoke(t, p, f, ep, l)
}

// checkRevoke revokes the login's token where the preset has a
// revocation endpoint, and checks that the provider no longer accepts it.
func checkRevoke(t *testing.T, p providers.Provider, f *providertest.Fake, ep presets.Preset, l *providers.Login) {
	t.Helper()
	rv, ok := p.(providers.Revoker)
	if ep.RevocationURL == "" {
		if ok && rv.RevocationScope() != "" {
			t.Errorf("a preset without revocation_url says it can revoke")
		}
		return
	}
	if !ok || rv.RevocationScope() == "" {
		t.Fatalf("preset with revocation_url %s cannot revoke", ep.RevocationURL)
	}
	if err := rv.RevokeToken(context.Background(), providers.RevokeRequest{AccessToken: l.Token.AccessToken, GrantData: l.GrantData}); err != nil {
		t.Fatalf("RevokeToken: %v", err)
	}
	if f.Live(l.Token.AccessToken) {
		t.Errorf("the access token still works after revocation")
	}
}

func sep(s string) string {
	if s == "" {
		return " "
	}
	return s
}

// checkRefresh refreshes once where the preset supports it, and checks
// that no request is sent where it does not.
func checkRefresh(t *testing.T, p providers.Provider, f *providertest.Fake, pr presets.Preset, l *providers.Login) {
	t.Helper()
	before := len(f.Requests())
	rt := l.Token.RefreshToken
	if rt == "" {
		rt = "rt-none"
	}
	tok, err := p.Refresh(context.Background(), providers.RefreshRequest{RefreshToken: rt, Subject: l.Identity.Subject, GrantData: l.GrantData})
	sent := len(f.Requests()) - before
	if !pr.Refresh {
		var oe *providers.OAuthError
		if !errors.As(err, &oe) || oe.Code != "unsupported_grant_type" || sent != 0 {
			t.Errorf("refresh of a preset without refresh: err %v, %d requests", err, sent)
		}
		return
	}
	if sent != 1 {
		t.Errorf("refresh sent %d requests, want 1", sent)
	}
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if tok.AccessToken == l.Token.AccessToken || !strings.HasPrefix(tok.AccessToken, "at-") || tok.RefreshToken == "" {
		t.Errorf("refreshed token %v", tok)
	}
}

// TestZohoRefusesAnUnknownAccountsServer: a callback naming an accounts
// server that is not one of Zoho's data centres fails the login before
// the code is sent anywhere.
func TestZohoRefusesAnUnknownAccountsServer(t *testing.T) {
	for _, server := range []string{"https://evil.example", "http://accounts.zoho.eu", "https://accounts.zoho.eu.evil.example", "https://accounts.zoho.eu/x"} {
		tc := oauthCases["zoho"]
		pr, _ := presets.Lookup("zoho")
		ep, _ := pr.Expand(nil)
		f := providertest.New(t, providertest.Spec{
			ClientID: clientID, ClientSecret: clientSecret, AuthStyle: pr.AuthStyle, PKCE: true,
			AuthURL: ep.AuthURL, TokenURL: ep.TokenURL, Token: tc.token,
			CallbackParams: url.Values{"accounts-server": {server}},
		})
		p, err := providertest.Open(context.Background(), "z", &presets.Entry{Name: "zoho", ClientID: clientID, ClientSecret: clientSecret},
			providertest.RedirectURL("z"), providerconfig.Env{RewriteURL: f.Rewrite})
		if err != nil {
			t.Fatal(err)
		}
		req := providertest.NewAuthRequest("z")
		q := providertest.AuthorizeLogin(t, p, req)
		_, err = p.Exchange(context.Background(), providers.Callback{Code: q.Get("code"), Form: q}, req)
		var ve *providers.VerificationError
		if !errors.As(err, &ve) || ve.Check != "grant" {
			t.Errorf("accounts-server %q: %v, want a refused login", server, err)
		}
		if _, sent := f.FindRequest(ep.TokenURL); sent {
			t.Errorf("accounts-server %q: the code was sent to a token endpoint", server)
		}
	}
}
