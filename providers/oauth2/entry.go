package oauth2

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/providerconfig"
)

// Entry is a `type: oauth2` entry of the configuration file: plain OAuth2
// endpoints and a mapping of the user-info answer to the identity.
type Entry struct {
	ClientID     string   `yaml:"client_id"`
	ClientSecret string   `yaml:"client_secret"`
	Scopes       []string `yaml:"scopes"`
	// AuthStyle is how token requests authenticate: basic (default) or post.
	AuthStyle string `yaml:"auth_style"`
	// PKCE can be set false for a provider that rejects it. Default true.
	PKCE *bool `yaml:"pkce"`

	AuthURL     string `yaml:"auth_url"`
	TokenURL    string `yaml:"token_url"`
	UserinfoURL string `yaml:"userinfo_url"`
	// Claims maps uid (required), email, email_verified and name to
	// paths in the user-info answer.
	Claims map[string]string `yaml:"claims"`
	// UserinfoMethod is GET (default) or POST.
	UserinfoMethod string `yaml:"userinfo_method"`
	// UserinfoHeaders are sent with the user-info request; values may
	// use {client_id} and {client_secret}.
	UserinfoHeaders map[string]string `yaml:"userinfo_headers"`
	// ScopeSeparator joins scopes in the authorization URL (default " ").
	ScopeSeparator string `yaml:"scope_separator"`
	// Refresh says whether the provider issues refresh tokens that can be
	// redeemed (default true).
	Refresh *bool `yaml:"refresh"`
	// AuthParams are extra authorization-request parameters.
	AuthParams map[string]string `yaml:"auth_params"`
	// RevokeTokens revokes a session's token (RFC 7009) when the session
	// ends, where the provider has a revocation endpoint. Default true.
	RevokeTokens *bool `yaml:"revoke_tokens"`

	// Keys of other types, accepted only to say why they do not apply.
	Issuer            string            `yaml:"issuer"`
	RPInitiatedLogout bool              `yaml:"rp_initiated_logout"`
	Settings          map[string]string `yaml:"settings"`
}

var _ providerconfig.Config = (*Entry)(nil)

// String shows what identifies the provider, never its client secret.
func (e Entry) String() string {
	return fmt.Sprintf("oauth2.Entry{auth_url:%s client_id:%s client_secret:%s}", e.AuthURL, e.ClientID, providerconfig.Redacted(e.ClientSecret))
}

// GoString redacts like String.
func (e Entry) GoString() string { return e.String() }

// PKCEEnabled reports whether PKCE is used (default true).
func (e *Entry) PKCEEnabled() bool { return e.PKCE == nil || *e.PKCE }

// Check validates the entry: both endpoints, the user-info URL, the claim
// holding the user's stable ID, the shared keys and the keys of the
// user-info request; keys of other types are refused. It fills the
// default auth_style, basic.
func (e *Entry) Check() []providerconfig.FieldError {
	if e.AuthStyle == "" {
		e.AuthStyle = providerconfig.DefaultAuthStyle
	}
	var ps providerconfig.Problems
	providerconfig.CheckClient(&ps, providerconfig.Client{ClientID: e.ClientID, ClientSecret: e.ClientSecret,
		Scopes: e.Scopes, AuthStyle: e.AuthStyle, Claims: e.Claims})
	e.checkEndpoints(&ps)
	// A uid key written with an empty value was reported above.
	if _, written := e.Claims[providerconfig.ClaimUID]; !written {
		ps.Add("claims.uid", "is required for type oauth2: the user-info field holding the user's stable ID (e.g. claims: {uid: id})")
	}
	providerconfig.Unused(&ps, "applies only to type oidc; an oauth2 provider takes auth_url and token_url",
		providerconfig.StringKey("issuer", e.Issuer))
	providerconfig.Unused(&ps, "applies only to OpenID Connect providers (a plain OAuth2 provider has no end_session_endpoint)",
		providerconfig.Key{Name: "rp_initiated_logout", Set: e.RPInitiatedLogout})
	CheckUserinfoKeys(&ps, e.UserinfoMethod, e.ScopeSeparator, e.UserinfoHeaders, e.Claims)
	providerconfig.CheckAuthParams(&ps, e.AuthParams)
	providerconfig.Unused(&ps, "settings apply only to presets; type oauth2 takes its values directly",
		providerconfig.MapKey("settings", e.Settings))
	return ps
}

// checkEndpoints requires auth_url and token_url and checks every
// endpoint's form.
func (e *Entry) checkEndpoints(ps *providerconfig.Problems) {
	for _, kv := range []struct{ name, value string }{{"auth_url", e.AuthURL}, {"token_url", e.TokenURL}} {
		if kv.value == "" {
			ps.Add(kv.name, "is required for type oauth2")
		} else if msg := providerconfig.EndpointProblem(kv.value, false); msg != "" {
			ps.Add(kv.name, msg)
		}
	}
	if e.UserinfoURL != "" {
		if msg := providerconfig.EndpointProblem(e.UserinfoURL, false); msg != "" {
			ps.Add("userinfo_url", msg)
		}
	}
}

// CheckUserinfoKeys checks the keys that shape the user-info request and
// the authorization URL, shared by type oauth2 and the plain-OAuth2
// presets: the method, the scope separator, the extra headers and the
// claim paths (their names are checked by providerconfig.CheckClient).
func CheckUserinfoKeys(ps *providerconfig.Problems, method, separator string, headers, claims map[string]string) {
	switch strings.ToUpper(method) {
	case "", http.MethodGet, http.MethodPost:
	default:
		ps.Addf("userinfo_method", "%q is not GET or POST", method)
	}
	if len(separator) > 1 || strings.ContainsAny(separator, "&=#?") {
		ps.Addf("scope_separator", "%q must be one character such as \" \" or \",\"", separator)
	}
	for _, name := range sortedKeys(headers) {
		if err := CheckHeader(name, headers[name]); err != nil {
			ps.Addf("userinfo_headers."+name, "%v", err)
		}
	}
	for _, name := range sortedKeys(claims) {
		if claims[name] == "" {
			continue // reported by CheckClient
		}
		if err := CheckPath(claims[name]); err != nil {
			ps.Addf("claims."+name, "%v", err)
		}
	}
}

// Config converts the entry into the provider's configuration.
func (e *Entry) Config(key, displayName string) Config {
	return Config{
		Key:             key,
		DisplayName:     displayName,
		Type:            Type,
		ClientID:        e.ClientID,
		ClientSecret:    e.ClientSecret,
		AuthURL:         e.AuthURL,
		TokenURL:        e.TokenURL,
		UserinfoURL:     e.UserinfoURL,
		UserinfoMethod:  e.UserinfoMethod,
		UserinfoHeaders: e.UserinfoHeaders,
		Claims:          ClaimsFrom(e.Claims),
		Scopes:          e.Scopes,
		ScopeSeparator:  e.ScopeSeparator,
		AuthStyle:       e.AuthStyle,
		PKCE:            e.PKCEEnabled(),
		Refresh:         e.Refresh == nil || *e.Refresh,
		AuthParams:      e.AuthParams,
		RevokeTokens:    e.RevokeTokens == nil || *e.RevokeTokens,
	}
}

// ClaimsFrom reads the claims key of an entry (uid, email,
// email_verified and name to user-info paths) into Claims: type oauth2
// and the plain-OAuth2 presets write it the same way.
func ClaimsFrom(m map[string]string) Claims {
	return Claims{
		UID:           m[providerconfig.ClaimUID],
		Email:         m[providerconfig.ClaimEmail],
		EmailVerified: m[providerconfig.ClaimEmailVerified],
		Name:          m[providerconfig.ClaimName],
	}
}

// Open checks the entry and builds the provider.
func (e *Entry) Open(_ context.Context, env providerconfig.Env) (providers.Provider, error) {
	if err := providerconfig.Problems(e.Check()).Error(env.Key); err != nil {
		return nil, err
	}
	c := e.Config(env.Key, env.DisplayName)
	c.AuthURL, c.TokenURL, c.UserinfoURL = env.Rewrite(c.AuthURL), env.Rewrite(c.TokenURL), env.Rewrite(c.UserinfoURL)
	return New(c, env.RedirectURL, Options{HTTPClient: env.HTTPClient, Logger: env.Logger, Now: env.Now})
}

// Targets are the endpoints `check --online` reaches.
func (e *Entry) Targets() ([]providerconfig.Target, error) {
	var out []providerconfig.Target
	for _, t := range []providerconfig.Target{{Key: "auth_url", URL: e.AuthURL}, {Key: "token_url", URL: e.TokenURL}, {Key: "userinfo_url", URL: e.UserinfoURL}} {
		if t.URL != "" {
			out = append(out, t)
		}
	}
	return out, nil
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}
