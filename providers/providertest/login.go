package providertest

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/providerconfig"
)

// These helpers are the steps every test of a provider type takes before
// the part it checks (build the provider from its configuration, send the
// browser to the provider, get a code back): shared by the tests of the
// providers and of the configuration that decodes them.

// StdToken is a token endpoint answer as most providers give it: a Bearer
// access token for an hour and a refresh token.
var StdToken = Response{Body: `{"access_token":"{access_token}","token_type":"Bearer","expires_in":3600,"refresh_token":"{refresh_token}"}`}

// RedirectURL is the bridge's callback URL for the provider key, as the
// bridge registers it.
func RedirectURL(key string) string {
	return fmt.Sprintf("https://bridge.example/v1/account/sessions/oauth2/callback/%s/default", key)
}

// NewAuthRequest is a fresh login's request for the provider key: random
// state, nonce and PKCE verifier, and RedirectURL(key).
func NewAuthRequest(key string) providers.AuthRequest {
	return providers.AuthRequest{State: "state-" + rand.Text(), Nonce: "nonce-" + rand.Text(),
		CodeVerifier: rand.Text() + rand.Text(), RedirectURL: RedirectURL(key)}
}

// Open builds the provider of key from its type's configuration, as serve
// does.
func Open(ctx context.Context, key string, cfg providerconfig.Config, redirectURL string, env providerconfig.Env) (providers.Provider, error) {
	env.Key, env.RedirectURL = key, redirectURL
	return cfg.Open(ctx, env)
}

// AuthorizeLogin is a login's browser step: it sends the browser to p's
// authorization request for req (Authorize) and returns the parameters of
// the redirect back, ending the test when either step fails.
func AuthorizeLogin(t testing.TB, p providers.Provider, req providers.AuthRequest) url.Values {
	t.Helper()
	u, err := p.AuthCodeURL(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	q, err := Authorize(u)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// FindRequest returns the first request the fake received whose original
// URL starts with prefix.
func (f *Fake) FindRequest(prefix string) (Request, bool) {
	for _, r := range f.Requests() {
		if strings.HasPrefix(r.URL, prefix) {
			return r, true
		}
	}
	return Request{}, false
}

// RequireHeader fails the test unless the first request to url (a
// prefix) carried header name = want.
func (f *Fake) RequireHeader(t testing.TB, url, name, want string) {
	t.Helper()
	r, ok := f.FindRequest(url)
	if !ok {
		t.Errorf("no request to %s", url)
		return
	}
	if got := r.Header.Get(name); got != want {
		t.Errorf("request to %s: header %s = %q, want %q", url, name, got, want)
	}
}
