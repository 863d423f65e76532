// Package providerconfig is the schema of one entry under providers: in the
// configuration file and the checks that do not depend on the preset
// catalog: the keys every type shares and the built-in types oidc and
// oauth2. It lives with the providers, not with the application's
// configuration, so that provider packages never import the application
// (the configuration package decodes the file and places these problems at
// their lines).
package providerconfig

import "time"

// Provider is one entry under providers:. Which keys apply depends on Type.
type Provider struct {
	Key          string   `yaml:"-"`
	Type         string   `yaml:"type"`
	DisplayName  string   `yaml:"display_name"`
	ClientID     string   `yaml:"client_id"`
	ClientSecret string   `yaml:"client_secret"`
	Scopes       []string `yaml:"scopes"`
	// AuthStyle is how token requests authenticate: basic (default) or post.
	AuthStyle string `yaml:"auth_style"`
	// PKCE can be set false for a provider that rejects it. Default true.
	PKCE *bool `yaml:"pkce"`

	// type: oidc
	Issuer string `yaml:"issuer"`

	// type: oauth2
	AuthURL     string            `yaml:"auth_url"`
	TokenURL    string            `yaml:"token_url"`
	UserinfoURL string            `yaml:"userinfo_url"`
	Claims      map[string]string `yaml:"claims"`
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

	// Settings are a preset's own settings (tenant, domain, realm, ...);
	// `sessionbridge providers NAME` lists them.
	Settings map[string]string `yaml:"settings"`

	// Refresh limits for this provider, overriding refresh.provider_*:
	// providers publish token-endpoint limits.
	RefreshConcurrency int     `yaml:"refresh_concurrency"`
	RefreshRate        float64 `yaml:"refresh_rate"`
	RefreshBurst       int     `yaml:"refresh_burst"`
	// MinRefreshInterval is the least time between two refreshes of one
	// grant (unset: the preset's default, e.g. 24h for Apple; 0s: none).
	// Access tokens may lapse until it has passed.
	MinRefreshInterval *time.Duration `yaml:"min_refresh_interval"`

	// RPInitiatedLogout sends the browser to the provider's
	// end_session_endpoint when the user signs out on the account page
	// (OpenID Connect RP-Initiated Logout). Default false: it signs the
	// user out of the provider everywhere.
	RPInitiatedLogout bool `yaml:"rp_initiated_logout"`
	// RevokeTokens revokes a session's provider token (RFC 7009) when the
	// session ends by sign-out, revoke or back-channel logout, where the
	// provider has a revocation endpoint. Default true.
	RevokeTokens *bool `yaml:"revoke_tokens"`
	// RevokesPerToken is set by a preset whose provider ends only the
	// revoked token (not the user's whole grant); not a YAML key.
	RevokesPerToken bool `yaml:"-"`

	// Line is the line of the provider's key in the file, for messages.
	Line int `yaml:"-"`
}

// RevokeTokensEnabled reports whether tokens are revoked (default true).
func (p Provider) RevokeTokensEnabled() bool { return p.RevokeTokens == nil || *p.RevokeTokens }

// PKCEEnabled reports whether PKCE is used (default true).
func (p Provider) PKCEEnabled() bool { return p.PKCE == nil || *p.PKCE }
