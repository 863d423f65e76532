// Package oauth2 is the generic plain-OAuth2 provider (`type: oauth2`): an
// authorization-code login against configured endpoints, the user's
// identity read from a user-info answer (or the token answer) through a
// claims mapping, and refresh_token grants where the provider supports
// them. Presets with quirks plug small hooks into it (see hooks.go) instead
// of growing flags here.
package oauth2

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/internal/tokenhttp"
	"github.com/sessionbridge/sessionbridge/providers/providerconfig"
)

// Type is the provider type this package implements (Info.Type default).
const Type = "oauth2"

// DefaultTimeout bounds each request when the injected client has no
// Timeout of its own.
const DefaultTimeout = 30 * time.Second

// Config is everything a generic OAuth2 provider needs. Entry builds it
// from a `type: oauth2` configuration entry; presets fill it from their
// data.
type Config struct {
	Key         string
	DisplayName string
	// Type is reported by Info (a preset name, or "oauth2").
	Type string

	ClientID     string
	ClientSecret string

	AuthURL  string
	TokenURL string
	// RefreshURL, when set, receives refresh_token grants instead of
	// TokenURL (Figma uses a separate endpoint).
	RefreshURL  string
	UserinfoURL string
	// UserinfoMethod is GET (default) or POST.
	UserinfoMethod string
	// UserinfoHeaders are added to user-info requests. Values may use
	// {client_id} and {client_secret} (Etsy's x-api-key). An Authorization
	// header here replaces the default "Bearer <token>"; it may use
	// {access_token}.
	UserinfoHeaders map[string]string
	// TokenHeaders are added to token requests (e.g. GitHub's
	// Accept: application/json).
	TokenHeaders map[string]string

	// Claims maps identity fields to paths in the user-info answer.
	Claims Claims

	Scopes         []string
	ScopeSeparator string // default " "
	// AuthStyle is "basic" (default) or "post"; never auto-detected, so a
	// failed token request is never re-sent another way.
	AuthStyle string
	PKCE      bool
	Refresh   bool
	// AuthParams are added to every authorization URL.
	AuthParams map[string]string

	// JSONTokenRequests sends token requests as a JSON object instead of
	// a form (Podio's /oauth/token/v2).
	JSONTokenRequests bool
	// ErrorAliases rename provider error codes to RFC 6749 ones
	// (GitHub's bad_refresh_token is invalid_grant).
	ErrorAliases map[string]string

	// RevocationURL is the RFC 7009 revocation endpoint ("" for none);
	// RevokeTokens lets the bridge use it; RevokesPerToken says that
	// revoking one token leaves the user's other grants alone.
	RevocationURL   string
	RevokeTokens    bool
	RevokesPerToken bool

	// Hooks are quirk implementations; each may implement any of the
	// interfaces in hooks.go.
	Hooks []any
}

// Claims are claim paths (see Extract for the syntax). UID is required.
type Claims struct {
	UID           string
	Email         string
	EmailVerified string
	Name          string
}

// Options carries injected dependencies; zero values get defaults.
type Options struct {
	// HTTPClient sends token and user-info requests (default
	// http.DefaultClient). Token requests never follow redirects. A
	// client without a Timeout gets DefaultTimeout; answers are read up
	// to 1 MiB.
	HTTPClient *http.Client
	// Logger never receives tokens, codes or secrets.
	Logger *slog.Logger
	// Now is the clock for token expiry times.
	Now func() time.Time
}

// Provider is a configured generic OAuth2 provider, safe for concurrent use.
type Provider struct {
	cfg         Config
	authStyle   oauth2.AuthStyle
	redirectURL string

	tokenClient *http.Client
	apiClient   *http.Client
	log         *slog.Logger
	now         func() time.Time
}

var (
	_ providers.Provider = (*Provider)(nil)
)

// reservedAuthParams are set by the login itself; configuration may not
// override them.
var reservedAuthParams = []string{"client_id", "redirect_uri", "response_type", "scope", "state", "code_challenge", "code_challenge_method", "nonce"}

// New validates cfg and returns the provider. redirectURL is the callback
// registered at the provider; a login's AuthRequest.RedirectURL wins.
func New(cfg Config, redirectURL string, opts Options) (*Provider, error) {
	if err := Validate(cfg); err != nil {
		return nil, fmt.Errorf("oauth2 provider %q: %w", cfg.Key, err)
	}
	style := oauth2.AuthStyleInHeader
	if cfg.AuthStyle == "post" {
		style = oauth2.AuthStyleInParams
	}
	if redirectURL != "" {
		if u, err := url.Parse(redirectURL); err != nil || !u.IsAbs() {
			return nil, fmt.Errorf("oauth2 provider %q: redirect URL %q is not an absolute URL", cfg.Key, redirectURL)
		}
	}
	if cfg.Type == "" {
		cfg.Type = Type
	}
	if cfg.ScopeSeparator == "" {
		cfg.ScopeSeparator = " "
	}
	p := &Provider{cfg: cfg, authStyle: style, redirectURL: redirectURL, log: opts.Logger, now: opts.Now}
	base := opts.HTTPClient
	if base == nil {
		base = http.DefaultClient
	}
	if base.Timeout == 0 {
		// A caller's context without a deadline must not let a provider
		// that never answers hold a login or a refresh open.
		c := *base
		c.Timeout = DefaultTimeout
		base = &c
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.now == nil {
		p.now = time.Now
	}
	p.tokenClient = p.newTokenClient(base)
	p.apiClient = tokenhttp.NewClient(base, tokenhttp.Options{FollowRedirects: true})
	return p, nil
}

// Validate checks a Config without building it; its messages name the
// configuration keys.
func Validate(cfg Config) error {
	var errs []error
	if cfg.ClientID == "" {
		errs = append(errs, errors.New("client_id is required"))
	}
	errs = append(errs, endpointErrors(cfg)...)
	switch cfg.AuthStyle {
	case "", "basic", "post":
	default:
		errs = append(errs, fmt.Errorf("auth_style %q is not basic or post", cfg.AuthStyle))
	}
	switch strings.ToUpper(cfg.UserinfoMethod) {
	case "", http.MethodGet, http.MethodPost:
	default:
		errs = append(errs, fmt.Errorf("userinfo_method %q is not GET or POST", cfg.UserinfoMethod))
	}
	errs = append(errs, claimErrors(cfg.Claims)...)
	if len(cfg.ScopeSeparator) > 1 || strings.ContainsAny(cfg.ScopeSeparator, "&=#?") {
		errs = append(errs, fmt.Errorf("scope_separator %q must be one character such as \" \" or \",\"", cfg.ScopeSeparator))
	}
	errs = append(errs, requestErrors(cfg)...)
	return errors.Join(errs...)
}

// endpointErrors requires the authorization and token endpoints and
// checks the form of every endpoint. Placeholders filled at request time
// are replaced by a stand-in first; {client_secret} may not appear in a
// URL at all, since URLs end up in logs and caches.
func endpointErrors(cfg Config) []error {
	var errs []error
	for _, e := range []struct{ name, value string }{{"auth_url", cfg.AuthURL}, {"token_url", cfg.TokenURL}} {
		if e.value == "" {
			errs = append(errs, fmt.Errorf("%s is required", e.name))
		} else if err := CheckEndpoint(e.value); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", e.name, err))
		}
	}
	for _, e := range []struct{ name, value string }{{"userinfo_url", cfg.UserinfoURL}, {"refresh_url", cfg.RefreshURL}, {"revocation_url", cfg.RevocationURL}} {
		if e.value != "" {
			if err := CheckEndpoint(strings.NewReplacer("{access_token}", "x", "{client_id}", "x").Replace(e.value)); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", e.name, err))
			}
		}
	}
	for _, e := range []struct{ name, value string }{{"auth_url", cfg.AuthURL}, {"token_url", cfg.TokenURL}, {"userinfo_url", cfg.UserinfoURL}, {"refresh_url", cfg.RefreshURL}} {
		if strings.Contains(e.value, "{client_secret}") {
			errs = append(errs, fmt.Errorf("%s: {client_secret} may be used only in header values: URLs end up in logs and caches", e.name))
		}
	}
	return errs
}

// claimErrors requires the uid claim and checks every claim path.
func claimErrors(c Claims) []error {
	var errs []error
	if c.UID == "" {
		errs = append(errs, errors.New("claims.uid is required: the field holding the user's stable ID (e.g. claims: {uid: id})"))
	}
	for name, path := range map[string]string{"uid": c.UID, "email": c.Email, "email_verified": c.EmailVerified, "name": c.Name} {
		if path != "" {
			if err := CheckPath(path); err != nil {
				errs = append(errs, fmt.Errorf("claims.%s: %w", name, err))
			}
		}
	}
	return errs
}

// requestErrors checks what is added to requests: authorization
// parameters (never one the login sets) and header lines.
func requestErrors(cfg Config) []error {
	var errs []error
	for k := range cfg.AuthParams {
		if slices.Contains(reservedAuthParams, k) || k == "" {
			errs = append(errs, fmt.Errorf("auth_params.%s: this parameter is set by the login itself", k))
		}
	}
	for _, hs := range []map[string]string{cfg.UserinfoHeaders, cfg.TokenHeaders} {
		for k, v := range hs {
			if err := CheckHeader(k, v); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errs
}

// CheckHeader validates a configured HTTP header.
func CheckHeader(name, value string) error {
	if name == "" || strings.ContainsAny(name, " \t\r\n:()<>@,;\\\"/[]?={}") {
		return fmt.Errorf("header name %q is not a valid HTTP header name", name)
	}
	if strings.ContainsAny(value, "\r\n\x00") {
		return fmt.Errorf("header %s: the value must be one line", name)
	}
	return nil
}

// CheckEndpoint refuses URLs that are not absolute https, or http on
// loopback (contract §4), or that carry credentials or a fragment.
func CheckEndpoint(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("%q is not an absolute https:// URL", raw)
	}
	if u.Scheme == "http" && !providerconfig.IsLoopback(u.Hostname()) {
		return fmt.Errorf("%q must use https (plain http is allowed only on loopback)", raw)
	}
	if u.User != nil {
		return errors.New("the URL must not contain a user name or password")
	}
	if u.Fragment != "" {
		return fmt.Errorf("%q must not have a fragment", raw)
	}
	return nil
}

// Key returns the provider key from the configuration.
func (p *Provider) Key() string { return p.cfg.Key }

// Info describes the provider; DisplayName falls back to the key.
func (p *Provider) Info() providers.Info {
	name := p.cfg.DisplayName
	if name == "" {
		name = p.cfg.Key
	}
	return providers.Info{Key: p.cfg.Key, DisplayName: name, Type: p.cfg.Type}
}

// AuthCodeURL returns the authorization URL: configured and login scopes
// joined with the scope separator, state, PKCE S256 challenge (unless
// disabled), the configured extra parameters and those of the hooks.
func (p *Provider) AuthCodeURL(_ context.Context, req providers.AuthRequest) (string, error) {
	if req.State == "" {
		return "", errors.New("oauth2: a login needs a state")
	}
	if p.cfg.PKCE && req.CodeVerifier == "" {
		return "", errors.New("oauth2: PKCE is enabled but the login has no code verifier")
	}
	conf := p.oauth2Config(req.RedirectURL, nil, p.cfg.TokenURL)
	if conf.RedirectURL == "" {
		return "", errors.New("oauth2: no redirect URL configured")
	}
	var opts []oauth2.AuthCodeOption
	if scopes := p.loginScopes(req.Scopes); len(scopes) > 0 {
		// x/oauth2 joins with spaces; providers with another separator
		// get the parameter set here instead.
		opts = append(opts, oauth2.SetAuthURLParam("scope", strings.Join(scopes, p.cfg.ScopeSeparator)))
	}
	if p.cfg.PKCE {
		opts = append(opts, oauth2.S256ChallengeOption(req.CodeVerifier))
	}
	for _, k := range slices.Sorted(maps.Keys(p.cfg.AuthParams)) {
		opts = append(opts, oauth2.SetAuthURLParam(k, p.cfg.AuthParams[k]))
	}
	for _, h := range p.cfg.Hooks {
		if ah, ok := h.(AuthURLHook); ok {
			for k, vs := range ah.AuthURLParams(req) {
				if len(vs) > 0 {
					opts = append(opts, oauth2.SetAuthURLParam(k, vs[0]))
				}
			}
		}
	}
	return conf.AuthCodeURL(req.State, opts...), nil
}

// loginScopes is the configured scopes, then the login's extra ones, each
// once and in that order.
func (p *Provider) loginScopes(extra []string) []string {
	var out []string
	for _, list := range [][]string{p.cfg.Scopes, extra} {
		for _, s := range list {
			for _, f := range strings.Fields(s) {
				if !slices.Contains(out, f) {
					out = append(out, f)
				}
			}
		}
	}
	return out
}

// oauth2Config builds the x/oauth2 configuration for one call. Scopes are
// never set on it: the authorization URL gets them explicitly, and token
// requests do not need them.
func (p *Provider) oauth2Config(redirectURL string, secret *string, tokenURL string) *oauth2.Config {
	if redirectURL == "" {
		redirectURL = p.redirectURL
	}
	cs := p.cfg.ClientSecret
	if secret != nil {
		cs = *secret
	}
	return &oauth2.Config{
		ClientID:     p.cfg.ClientID,
		ClientSecret: cs,
		Endpoint:     oauth2.Endpoint{AuthURL: p.cfg.AuthURL, TokenURL: tokenURL, AuthStyle: p.authStyle},
		RedirectURL:  redirectURL,
	}
}
