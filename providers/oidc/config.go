package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/providerconfig"
)

// Config configures one OpenID Connect provider. Its yaml keys are those
// of a `type: oidc` entry; the fields without a key are set by code (the
// provider key and display name by Open, the rest by presets that build
// on this provider).
type Config struct {
	Key         string `yaml:"-"`
	DisplayName string `yaml:"-"`
	// Type is reported by Info: "oidc", or the preset's name.
	Type string `yaml:"-"`

	// Issuer is discovered at {issuer}/.well-known/openid-configuration.
	Issuer       string   `yaml:"issuer"`
	ClientID     string   `yaml:"client_id"`
	ClientSecret string   `yaml:"client_secret"`
	Scopes       []string `yaml:"scopes"`
	// AuthStyle is how token requests authenticate: basic (default) or post.
	AuthStyle string `yaml:"auth_style"`
	// PKCE can be set false for a provider that rejects it. Default true.
	PKCE *bool `yaml:"pkce"`
	// AuthParams are added to every authorization URL (Google's
	// access_type=offline); the parameters the login sets are never
	// replaced.
	AuthParams map[string]string `yaml:"auth_params"`
	// Refresh says whether the provider issues refresh tokens that can be
	// redeemed (default true); false makes Refresh fail at once, without
	// a request.
	Refresh *bool `yaml:"refresh"`
	// RPInitiatedLogout sends the browser to the provider's
	// end_session_endpoint when the user signs out on the account page.
	RPInitiatedLogout bool `yaml:"rp_initiated_logout"`
	// RevokeTokens revokes a session's token (RFC 7009) when the session
	// ends, where the provider has a revocation endpoint. Default true.
	RevokeTokens *bool `yaml:"revoke_tokens"`

	// Keys of other types, accepted only to say why they do not apply.
	AuthURL         string            `yaml:"auth_url"`
	TokenURL        string            `yaml:"token_url"`
	UserinfoURL     string            `yaml:"userinfo_url"`
	UserinfoMethod  string            `yaml:"userinfo_method"`
	UserinfoHeaders map[string]string `yaml:"userinfo_headers"`
	ScopeSeparator  string            `yaml:"scope_separator"`
	Claims          map[string]string `yaml:"claims"`
	Settings        map[string]string `yaml:"settings"`

	// RevokesPerToken says that revoking one token leaves the user's
	// other grants alone (set by presets).
	RevokesPerToken bool `yaml:"-"`
	// ErrorAliases rename the provider's error codes to RFC 6749 ones
	// (Slack's invalid_refresh_token is invalid_grant).
	ErrorAliases map[string]string `yaml:"-"`
	// UIDClaims, when set, build providerUid from these ID token claims
	// joined by ":" instead of from sub alone.
	UIDClaims []string `yaml:"-"`
}

var _ providerconfig.Config = (*Config)(nil)

// String shows what identifies the provider, never its client secret.
func (c Config) String() string {
	return fmt.Sprintf("oidc.Config{key:%s issuer:%s client_id:%s client_secret:%s}", c.Key, c.Issuer, c.ClientID, providerconfig.Redacted(c.ClientSecret))
}

// GoString redacts like String.
func (c Config) GoString() string { return c.String() }

// PKCEEnabled reports whether PKCE is used (default true).
func (c Config) PKCEEnabled() bool { return c.PKCE == nil || *c.PKCE }

// RefreshEnabled reports whether refresh tokens are redeemed (default true).
func (c Config) RefreshEnabled() bool { return c.Refresh == nil || *c.Refresh }

// RevokeTokensEnabled reports whether tokens are revoked (default true).
func (c Config) RevokeTokensEnabled() bool { return c.RevokeTokens == nil || *c.RevokeTokens }

// Check validates a `type: oidc` entry: an issuer to discover and a
// client ID, the shared keys, and no key of another type. It fills the
// default auth_style, basic.
func (c *Config) Check() []providerconfig.FieldError {
	if c.AuthStyle == "" {
		c.AuthStyle = providerconfig.DefaultAuthStyle
	}
	var ps providerconfig.Problems
	providerconfig.CheckClient(&ps, providerconfig.Client{ClientID: c.ClientID, ClientSecret: c.ClientSecret,
		Scopes: c.Scopes, AuthStyle: c.AuthStyle, Claims: c.Claims})
	if c.Issuer == "" {
		ps.Add("issuer", "is required for type oidc (the URL whose /.well-known/openid-configuration describes the provider)")
	} else if msg := providerconfig.EndpointProblem(c.Issuer, true); msg != "" {
		ps.Add("issuer", msg)
	}
	if c.ClientID == "" {
		ps.Add("client_id", "is required for type oidc")
	}
	providerconfig.Unused(&ps, "applies only to type oauth2; an oidc provider finds its endpoints through discovery at the issuer",
		providerconfig.StringKey("auth_url", c.AuthURL), providerconfig.StringKey("token_url", c.TokenURL),
		providerconfig.StringKey("userinfo_url", c.UserinfoURL))
	providerconfig.Unused(&ps, "applies only to type oauth2",
		providerconfig.StringKey("userinfo_method", c.UserinfoMethod), providerconfig.StringKey("scope_separator", c.ScopeSeparator),
		providerconfig.MapKey("userinfo_headers", c.UserinfoHeaders))
	providerconfig.CheckAuthParams(&ps, c.AuthParams)
	providerconfig.Unused(&ps, "settings apply only to presets; type oidc takes its values directly",
		providerconfig.MapKey("settings", c.Settings))
	return ps
}

// Open checks the entry and starts the provider (see New).
func (c *Config) Open(ctx context.Context, env providerconfig.Env) (providers.Provider, error) {
	if err := providerconfig.Problems(c.Check()).Error(env.Key); err != nil {
		return nil, err
	}
	cfg := *c
	cfg.Key, cfg.DisplayName = env.Key, env.DisplayName
	cfg.Issuer = env.Rewrite(cfg.Issuer)
	return New(ctx, cfg, env.RedirectURL, Options{HTTPClient: env.HTTPClient, Logger: env.Logger, Now: env.Now})
}

// Targets is the issuer, whose discovery document `check --online` fetches.
func (c *Config) Targets() ([]providerconfig.Target, error) {
	return []providerconfig.Target{{Key: "issuer", URL: c.Issuer, Discovery: true}}, nil
}

// checkConfig validates what New needs beyond the auth style: an
// absolute issuer without query, a client ID and an absolute redirect URL.
// It holds for configurations built in code, which skip Check.
func checkConfig(cfg Config, redirectURL string) error {
	if cfg.Issuer == "" {
		return errors.New("issuer is required")
	}
	if err := checkEndpoint("issuer", cfg.Issuer); err != nil {
		return err
	}
	if u, _ := url.Parse(cfg.Issuer); u.RawQuery != "" || u.Fragment != "" {
		return errors.New("issuer must not have a query or fragment")
	}
	if cfg.ClientID == "" {
		return errors.New("client_id is required")
	}
	if redirectURL != "" {
		if u, err := url.Parse(redirectURL); err != nil || !u.IsAbs() {
			return fmt.Errorf("redirect URL %q is not an absolute URL", redirectURL)
		}
	}
	return nil
}
