package presets

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

	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/internal/tokenhttp"
	"github.com/sessionbridge/sessionbridge/providers/oauth2"
	"github.com/sessionbridge/sessionbridge/providers/oidc"
	"github.com/sessionbridge/sessionbridge/providers/providerconfig"
)

// Options carries the injected dependencies of the built providers.
type Options struct {
	HTTPClient *http.Client
	Logger     *slog.Logger
	Now        func() time.Time
	// RewriteURL, when set, maps every endpoint URL (and issuer) after
	// templates are expanded. It exists so tests can point a preset at a
	// fake over loopback; production code leaves it nil.
	RewriteURL func(string) string
}

func (o Options) rewrite(u string) string {
	if o.RewriteURL == nil || u == "" {
		return u
	}
	return o.RewriteURL(u)
}

// Build creates the provider for one configuration entry: type oidc,
// type oauth2 or any preset. ctx is the provider's lifetime (OIDC
// discovery is retried in the background until it ends). redirectURL is
// the callback URL registered at the provider.
func Build(ctx context.Context, cfg providerconfig.Provider, redirectURL string, opts Options) (providers.Provider, error) {
	switch cfg.Type {
	case KindOIDC:
		if errs := (Checker{}).CheckPreset(&cfg); len(errs) > 0 {
			return nil, fieldErrors(cfg.Key, errs)
		}
		cfg.Issuer = opts.rewrite(cfg.Issuer)
		p, err := oidc.New(ctx, cfg, redirectURL, oidcOptions(opts))
		if err != nil {
			return nil, err
		}
		return wrapOIDC(p, cfg.Type, cfg.AuthParams, cfg.Refresh == nil || *cfg.Refresh), nil
	case KindOAuth2:
		if errs := (Checker{}).CheckPreset(&cfg); len(errs) > 0 {
			return nil, fieldErrors(cfg.Key, errs)
		}
		oc := oauth2.FromConfig(cfg)
		oc.AuthURL, oc.TokenURL, oc.UserinfoURL = opts.rewrite(oc.AuthURL), opts.rewrite(oc.TokenURL), opts.rewrite(oc.UserinfoURL)
		return oauth2.New(oc, redirectURL, oauth2Options(opts))
	}
	pr, ok := Lookup(cfg.Type)
	if !ok {
		return nil, fmt.Errorf("provider %q: %s", cfg.Key, UnknownMessage(cfg.Type))
	}
	if errs := (Checker{}).CheckPreset(&cfg); len(errs) > 0 {
		return nil, fieldErrors(cfg.Key, errs)
	}
	values, _ := pr.resolveSettings(cfg.Settings) // checked above
	if pr.Kind == KindOIDC {
		return buildOIDC(ctx, pr, cfg, values, redirectURL, opts)
	}
	oc, err := oauth2Config(pr, cfg, values, opts)
	if err != nil {
		return nil, fmt.Errorf("provider %q: %w", cfg.Key, err)
	}
	return oauth2.New(oc, redirectURL, oauth2Options(opts))
}

func buildOIDC(ctx context.Context, pr Preset, cfg providerconfig.Provider, values map[string]string, redirectURL string, opts Options) (providers.Provider, error) {
	issuer := cfg.Issuer
	if issuer == "" {
		var err error
		if issuer, err = expand(pr.Issuer, values); err != nil {
			return nil, fmt.Errorf("provider %q: %w", cfg.Key, err)
		}
	}
	pkce := pr.PKCE
	if cfg.PKCE != nil {
		pkce = *cfg.PKCE
	}
	refresh := pr.Refresh
	if cfg.Refresh != nil {
		refresh = *cfg.Refresh
	}
	style := cfg.AuthStyle
	if style == "" {
		style = pr.AuthStyle
	}
	oc := providerconfig.Provider{
		Key: cfg.Key, Type: KindOIDC, DisplayName: cfg.DisplayName,
		ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		Scopes:    mergeScopes(pr.Scopes, cfg.Scopes),
		AuthStyle: style, PKCE: &pkce, Issuer: opts.rewrite(issuer), Line: cfg.Line,
		RPInitiatedLogout: cfg.RPInitiatedLogout, RevokeTokens: cfg.RevokeTokens,
		RevokesPerToken: pr.Revocation == RevocationToken,
	}
	p, err := oidc.New(ctx, oc, redirectURL, oidcOptions(opts))
	if err != nil {
		return nil, err
	}
	params := maps.Clone(pr.AuthParams)
	if params == nil {
		params = map[string]string{}
	}
	maps.Copy(params, cfg.AuthParams)
	w := wrapOIDC(p, pr.Name, params, refresh)
	if op, ok := w.(*oidcPreset); ok {
		op.aliases = maps.Clone(pr.ErrorAliases)
		op.uidClaims = slices.Clone(pr.UIDClaims)
	}
	return w, nil
}

// oauth2Config merges a preset with the configuration's overrides.
func oauth2Config(pr Preset, cfg providerconfig.Provider, values map[string]string, opts Options) (oauth2.Config, error) {
	oc := oauth2.Config{
		Key: cfg.Key, DisplayName: cfg.DisplayName, Type: pr.Name,
		ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		UserinfoMethod: pr.UserinfoMethod, ScopeSeparator: pr.ScopeSeparator, AuthStyle: pr.AuthStyle,
		PKCE: pr.PKCE, Refresh: pr.Refresh,
		Scopes:            mergeScopes(pr.Scopes, cfg.Scopes),
		UserinfoHeaders:   merge(pr.UserinfoHeaders, cfg.UserinfoHeaders),
		TokenHeaders:      maps.Clone(pr.TokenHeaders),
		AuthParams:        merge(pr.AuthParams, cfg.AuthParams),
		JSONTokenRequests: pr.TokenBody == "json",
		ErrorAliases:      maps.Clone(pr.ErrorAliases),
		RevokeTokens:      cfg.RevokeTokensEnabled(),
		RevokesPerToken:   pr.Revocation == RevocationToken,
	}
	for _, e := range []struct {
		dst            *string
		tmpl, override string
	}{
		{&oc.AuthURL, pr.AuthURL, cfg.AuthURL},
		{&oc.TokenURL, pr.TokenURL, cfg.TokenURL},
		{&oc.RefreshURL, pr.RefreshURL, ""},
		{&oc.RevocationURL, pr.RevocationURL, ""},
		{&oc.UserinfoURL, pr.UserinfoURL, cfg.UserinfoURL},
	} {
		v := e.override
		if v == "" {
			var err error
			if v, err = expand(e.tmpl, values); err != nil {
				return oc, err
			}
		}
		*e.dst = opts.rewrite(v)
	}
	for k, v := range oc.UserinfoHeaders {
		x, err := expand(v, values)
		if err != nil {
			return oc, err
		}
		oc.UserinfoHeaders[k] = x
	}
	if cfg.UserinfoMethod != "" {
		oc.UserinfoMethod = cfg.UserinfoMethod
	}
	if cfg.ScopeSeparator != "" {
		oc.ScopeSeparator = cfg.ScopeSeparator
	}
	if cfg.AuthStyle != "" {
		oc.AuthStyle = cfg.AuthStyle
	}
	if cfg.PKCE != nil {
		oc.PKCE = *cfg.PKCE
	}
	if cfg.Refresh != nil {
		oc.Refresh = *cfg.Refresh
	}
	claims := merge(pr.Claims, cfg.Claims)
	oc.Claims = oauth2.Claims{
		UID: claims[providerconfig.ClaimUID], Email: claims[providerconfig.ClaimEmail],
		EmailVerified: claims[providerconfig.ClaimEmailVerified], Name: claims[providerconfig.ClaimName],
	}
	hooks, err := newHooks(hookEnv{preset: pr, settings: values, clientID: cfg.ClientID, userinfoURL: oc.UserinfoURL, opts: opts})
	if err != nil {
		return oc, err
	}
	oc.Hooks = hooks
	return oc, nil
}

func merge(base, over map[string]string) map[string]string {
	if len(base) == 0 && len(over) == 0 {
		return nil
	}
	out := maps.Clone(base)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, over)
	return out
}

// mergeScopes is the preset's default scopes, then the configured ones
// ("added to the preset's defaults", contract §4), each once.
func mergeScopes(def, extra []string) []string {
	out := slices.Clone(def)
	for _, s := range extra {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func oidcOptions(o Options) oidc.Options {
	return oidc.Options{HTTPClient: o.HTTPClient, Logger: o.Logger, Now: o.Now}
}

func oauth2Options(o Options) oauth2.Options {
	return oauth2.Options{HTTPClient: o.HTTPClient, Logger: o.Logger, Now: o.Now}
}

// fieldErrors turns checker findings into one error naming the keys.
func fieldErrors(key string, errs []providerconfig.FieldError) error {
	var out []error
	for _, e := range errs {
		out = append(out, fmt.Errorf("providers.%s.%s: %s", key, e.Field, e.Message))
	}
	return errors.Join(out...)
}

// oidcPreset wraps the generic OIDC provider with what a preset adds:
// extra authorization parameters (Google's access_type=offline), its own
// type name, and refresh turned off where the provider has none.
type oidcPreset struct {
	*oidc.Provider
	typ     string
	params  map[string]string
	refresh bool
	// aliases rename the provider's error codes (Slack's
	// invalid_refresh_token is invalid_grant).
	aliases map[string]string
	// uidClaims build providerUid from several ID token claims.
	uidClaims []string
}

var (
	_ providers.Provider = (*oidcPreset)(nil)
)

func wrapOIDC(p *oidc.Provider, typ string, params map[string]string, refresh bool) providers.Provider {
	if typ == KindOIDC && len(params) == 0 && refresh {
		return p
	}
	return &oidcPreset{Provider: p, typ: typ, params: params, refresh: refresh}
}

// Info reports the preset name as the type.
func (w *oidcPreset) Info() providers.Info {
	i := w.Provider.Info()
	i.Type = w.typ
	return i
}

// AuthCodeURL adds the preset's parameters to the OIDC authorization URL.
func (w *oidcPreset) AuthCodeURL(ctx context.Context, req providers.AuthRequest) (string, error) {
	raw, err := w.Provider.AuthCodeURL(ctx, req)
	if err != nil || len(w.params) == 0 {
		return raw, err
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	q := u.Query()
	for k, v := range w.params {
		if !slices.Contains(reservedParams, k) {
			q.Set(k, v)
		}
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// Refresh refuses at once, without a request, when the preset has no
// refresh; otherwise it is the OIDC provider's.
func (w *oidcPreset) Refresh(ctx context.Context, req providers.RefreshRequest) (*providers.Token, error) {
	if !w.refresh {
		return nil, &providers.OAuthError{Code: "unsupported_grant_type", Description: fmt.Sprintf("provider %q does not support refreshing tokens", w.Key())}
	}
	req.Subject = w.subOf(req.Subject)
	tok, err := w.Provider.Refresh(ctx, req)
	return tok, tokenhttp.Alias(err, w.aliases)
}

// Exchange is the OIDC provider's, with providerUid built from the
// preset's uid_claims when it names them.
func (w *oidcPreset) Exchange(ctx context.Context, cb providers.Callback, req providers.AuthRequest) (*providers.Login, error) {
	l, err := w.Provider.Exchange(ctx, cb, req)
	if err != nil || len(w.uidClaims) == 0 {
		return l, err
	}
	parts := make([]string, len(w.uidClaims))
	for i, name := range w.uidClaims {
		v, _ := l.IDTokenClaims[name].(string)
		if v == "" || strings.Contains(v, ":") {
			return nil, &providers.VerificationError{Check: "uid", Err: fmt.Errorf("the ID token has no usable %s claim", name)}
		}
		parts[i] = v
	}
	l.Identity.PreviousSubject = l.Identity.Subject
	l.Identity.Subject = strings.Join(parts, ":")
	return l, nil
}

// subOf recovers the ID token's sub from a providerUid built from
// uid_claims (a refreshed ID token must name the same sub); a UID of the
// older, bare form is the sub itself.
func (w *oidcPreset) subOf(uid string) string {
	parts := strings.Split(uid, ":")
	i := slices.Index(w.uidClaims, "sub")
	if i < 0 || len(parts) != len(w.uidClaims) {
		return uid
	}
	return parts[i]
}

// Unwrap returns the OIDC provider (e.g. for WaitReady).
func (w *oidcPreset) Unwrap() *oidc.Provider { return w.Provider }
