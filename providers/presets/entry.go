package presets

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/sessionbridge/sessionbridge/internal/textdist"
	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/oauth2"
	"github.com/sessionbridge/sessionbridge/providers/oidc"
	"github.com/sessionbridge/sessionbridge/providers/providerconfig"
)

// Entry is the configuration of one provider built from a preset of the
// catalog: the preset's name (the entry's type) and what the entry adds
// to or overrides in the preset's data.
type Entry struct {
	// Name is the preset's name, the entry's type.
	Name string `yaml:"-"`

	ClientID     string `yaml:"client_id"`
	ClientSecret string `yaml:"client_secret"`
	// Scopes are added to the preset's default scopes.
	Scopes []string `yaml:"scopes"`
	// Settings are the preset's own settings (tenant, domain, realm, ...);
	// `sessionbridge providers NAME` lists them.
	Settings map[string]string `yaml:"settings"`
	// AuthStyle, PKCE and Refresh override the preset's.
	AuthStyle string `yaml:"auth_style"`
	PKCE      *bool  `yaml:"pkce"`
	Refresh   *bool  `yaml:"refresh"`
	// AuthParams are added to (or override) the preset's.
	AuthParams map[string]string `yaml:"auth_params"`
	// RPInitiatedLogout: see oidc.Config (OpenID Connect presets only).
	RPInitiatedLogout bool `yaml:"rp_initiated_logout"`
	// RevokeTokens: see oidc.Config. Default true.
	RevokeTokens *bool `yaml:"revoke_tokens"`

	// Issuer overrides an OpenID Connect preset's issuer.
	Issuer string `yaml:"issuer"`
	// The keys of type oauth2 override a plain OAuth2 preset's.
	AuthURL         string            `yaml:"auth_url"`
	TokenURL        string            `yaml:"token_url"`
	UserinfoURL     string            `yaml:"userinfo_url"`
	Claims          map[string]string `yaml:"claims"`
	UserinfoMethod  string            `yaml:"userinfo_method"`
	UserinfoHeaders map[string]string `yaml:"userinfo_headers"`
	ScopeSeparator  string            `yaml:"scope_separator"`
}

var _ providerconfig.Config = (*Entry)(nil)

// String shows what identifies the provider, never its client secret.
func (e Entry) String() string {
	return fmt.Sprintf("presets.Entry{preset:%s client_id:%s client_secret:%s}", e.Name, e.ClientID, providerconfig.Redacted(e.ClientSecret))
}

// GoString redacts like String.
func (e Entry) GoString() string { return e.String() }

// Check validates the entry against its preset: credentials, settings
// (with the preset's quirks), and only the overrides the preset's kind
// takes.
func (e *Entry) Check() []providerconfig.FieldError {
	ps := providerconfig.Problems(e.CheckForm())
	pr, ok := Lookup(e.Name)
	if !ok {
		ps.Add("type", UnknownMessage(e.Name))
		return ps
	}
	if e.ClientID == "" {
		ps.Addf("client_id", "is required for preset %s (empty: is its environment variable set?)", pr.Name)
	}
	if e.ClientSecret == "" && !pr.NoClientSecret {
		ps.Addf("client_secret", "is required for preset %s (empty: is its environment variable set?)", pr.Name)
	}
	e.checkSettings(pr, &ps)
	if pr.Kind == KindOIDC {
		e.checkOIDCOverrides(pr, &ps)
	} else {
		e.checkOAuth2Overrides(pr, &ps)
	}
	return ps
}

// CheckForm checks only the keys every type shares, for form.
func (e *Entry) CheckForm() []providerconfig.FieldError {
	var ps providerconfig.Problems
	providerconfig.CheckClient(&ps, providerconfig.Client{ClientID: e.ClientID, ClientSecret: e.ClientSecret,
		Scopes: e.Scopes, AuthStyle: e.AuthStyle, Claims: e.Claims})
	return ps
}

// checkSettings checks the settings and, once they are all valid, the
// preset's quirks that depend on them (Apple's private key).
func (e *Entry) checkSettings(pr Preset, ps *providerconfig.Problems) {
	values, problems := pr.resolveSettings(e.Settings)
	for _, name := range slices.Sorted(maps.Keys(problems)) {
		ps.Add("settings."+name, problems[name])
	}
	if len(problems) > 0 {
		return
	}
	for _, q := range pr.Quirks {
		if f, msg := checkQuirk(q, values); msg != "" {
			ps.Add(f, msg)
		}
	}
}

// checkOIDCOverrides: an OpenID Connect preset takes another issuer but
// no endpoints or user-info mapping, which come from discovery and the ID
// token.
func (e *Entry) checkOIDCOverrides(pr Preset, ps *providerconfig.Problems) {
	if e.Issuer != "" {
		if msg := endpointProblem(e.Issuer); msg != "" {
			ps.Add("issuer", msg)
		}
	}
	providerconfig.Unused(ps, fmt.Sprintf("does not apply to preset %s, an OpenID Connect provider (its endpoints come from discovery)", pr.Name),
		providerconfig.StringKey("auth_url", e.AuthURL), providerconfig.StringKey("token_url", e.TokenURL),
		providerconfig.StringKey("userinfo_url", e.UserinfoURL), providerconfig.StringKey("userinfo_method", e.UserinfoMethod),
		providerconfig.StringKey("scope_separator", e.ScopeSeparator))
	providerconfig.Unused(ps, fmt.Sprintf("does not apply to preset %s, an OpenID Connect provider (the identity comes from the ID token)", pr.Name),
		providerconfig.MapKey("claims", e.Claims))
	providerconfig.Unused(ps, fmt.Sprintf("does not apply to preset %s, an OpenID Connect provider", pr.Name),
		providerconfig.MapKey("userinfo_headers", e.UserinfoHeaders))
	providerconfig.CheckAuthParams(ps, e.AuthParams)
}

// checkOAuth2Overrides: a plain OAuth2 preset takes other endpoints and
// user-info keys, but no issuer and no RP-initiated logout.
func (e *Entry) checkOAuth2Overrides(pr Preset, ps *providerconfig.Problems) {
	if e.Issuer != "" {
		ps.Addf("issuer", "does not apply to preset %s, a plain OAuth2 provider (override auth_url/token_url instead)", pr.Name)
	}
	providerconfig.Unused(ps, "applies only to OpenID Connect providers (a plain OAuth2 provider has no end_session_endpoint)",
		providerconfig.Key{Name: "rp_initiated_logout", Set: e.RPInitiatedLogout})
	for _, kv := range []struct{ name, value string }{{"auth_url", e.AuthURL}, {"token_url", e.TokenURL}, {"userinfo_url", e.UserinfoURL}} {
		if kv.value != "" {
			if msg := endpointProblem(kv.value); msg != "" {
				ps.Add(kv.name, msg)
			}
		}
	}
	oauth2.CheckUserinfoKeys(ps, e.UserinfoMethod, e.ScopeSeparator, e.UserinfoHeaders, e.Claims)
	providerconfig.CheckAuthParams(ps, e.AuthParams)
}

// Open checks the entry and builds the provider from the preset's data
// and the entry's overrides.
func (e *Entry) Open(ctx context.Context, env providerconfig.Env) (providers.Provider, error) {
	pr, ok := Lookup(e.Name)
	if !ok {
		return nil, fmt.Errorf("provider %q: %s", env.Key, UnknownMessage(e.Name))
	}
	if err := providerconfig.Problems(e.Check()).Error(env.Key); err != nil {
		return nil, err
	}
	if env.DisplayName == "" {
		env.DisplayName = pr.DisplayName
	}
	values, _ := pr.resolveSettings(e.Settings) // checked above
	if pr.Kind == KindOIDC {
		return e.openOIDC(ctx, pr, values, env)
	}
	oc, err := e.oauth2Config(pr, values, env)
	if err != nil {
		return nil, fmt.Errorf("provider %q: %w", env.Key, err)
	}
	return oauth2.New(oc, env.RedirectURL, oauth2.Options{HTTPClient: env.HTTPClient, Logger: env.Logger, Now: env.Now})
}

// oidcConfig merges an OpenID Connect preset with the entry's overrides.
func (e *Entry) oidcConfig(pr Preset, values map[string]string, env providerconfig.Env) (oidc.Config, error) {
	issuer := e.Issuer
	if issuer == "" {
		var err error
		if issuer, err = expand(pr.Issuer, values); err != nil {
			return oidc.Config{}, err
		}
	}
	pkce, refresh := pr.PKCE, pr.Refresh
	if e.PKCE != nil {
		pkce = *e.PKCE
	}
	if e.Refresh != nil {
		refresh = *e.Refresh
	}
	style := e.AuthStyle
	if style == "" {
		style = pr.AuthStyle
	}
	return oidc.Config{
		Key: env.Key, DisplayName: env.DisplayName, Type: pr.Name,
		Issuer: env.Rewrite(issuer), ClientID: e.ClientID, ClientSecret: e.ClientSecret,
		Scopes:    mergeScopes(pr.Scopes, e.Scopes),
		AuthStyle: style, PKCE: &pkce, Refresh: &refresh,
		AuthParams:        merge(pr.AuthParams, e.AuthParams),
		RPInitiatedLogout: e.RPInitiatedLogout, RevokeTokens: e.RevokeTokens,
		RevokesPerToken: pr.Revocation == RevocationToken,
		ErrorAliases:    maps.Clone(pr.ErrorAliases),
		UIDClaims:       slices.Clone(pr.UIDClaims),
	}, nil
}

func (e *Entry) openOIDC(ctx context.Context, pr Preset, values map[string]string, env providerconfig.Env) (providers.Provider, error) {
	oc, err := e.oidcConfig(pr, values, env)
	if err != nil {
		return nil, fmt.Errorf("provider %q: %w", env.Key, err)
	}
	return oidc.New(ctx, oc, env.RedirectURL, oidc.Options{HTTPClient: env.HTTPClient, Logger: env.Logger, Now: env.Now})
}

// oauth2Config merges a plain OAuth2 preset with the entry's overrides.
func (e *Entry) oauth2Config(pr Preset, values map[string]string, env providerconfig.Env) (oauth2.Config, error) {
	oc := oauth2.Config{
		Key: env.Key, DisplayName: env.DisplayName, Type: pr.Name,
		ClientID: e.ClientID, ClientSecret: e.ClientSecret,
		UserinfoMethod: pr.UserinfoMethod, ScopeSeparator: pr.ScopeSeparator, AuthStyle: pr.AuthStyle,
		PKCE: pr.PKCE, Refresh: pr.Refresh,
		Scopes:            mergeScopes(pr.Scopes, e.Scopes),
		UserinfoHeaders:   merge(pr.UserinfoHeaders, e.UserinfoHeaders),
		TokenHeaders:      maps.Clone(pr.TokenHeaders),
		AuthParams:        merge(pr.AuthParams, e.AuthParams),
		JSONTokenRequests: pr.TokenBody == "json",
		ErrorAliases:      maps.Clone(pr.ErrorAliases),
		RevokeTokens:      e.RevokeTokens == nil || *e.RevokeTokens,
		RevokesPerToken:   pr.Revocation == RevocationToken,
	}
	if err := e.fillEndpoints(&oc, pr, values, env); err != nil {
		return oc, err
	}
	e.applyOverrides(&oc)
	oc.Claims = oauth2.ClaimsFrom(merge(pr.Claims, e.Claims))
	hooks, err := newHooks(hookEnv{preset: pr, settings: values, clientID: e.ClientID, userinfoURL: oc.UserinfoURL, opts: env})
	if err != nil {
		return oc, err
	}
	oc.Hooks = hooks
	return oc, nil
}

// fillEndpoints expands the preset's URL templates (an entry's override
// wins) and the templates in its user-info header values.
func (e *Entry) fillEndpoints(oc *oauth2.Config, pr Preset, values map[string]string, env providerconfig.Env) error {
	for _, ep := range []struct {
		dst            *string
		tmpl, override string
	}{
		{&oc.AuthURL, pr.AuthURL, e.AuthURL},
		{&oc.TokenURL, pr.TokenURL, e.TokenURL},
		{&oc.RefreshURL, pr.RefreshURL, ""},
		{&oc.RevocationURL, pr.RevocationURL, ""},
		{&oc.UserinfoURL, pr.UserinfoURL, e.UserinfoURL},
	} {
		v := ep.override
		if v == "" {
			var err error
			if v, err = expand(ep.tmpl, values); err != nil {
				return err
			}
		}
		*ep.dst = env.Rewrite(v)
	}
	for k, v := range oc.UserinfoHeaders {
		x, err := expand(v, values)
		if err != nil {
			return err
		}
		oc.UserinfoHeaders[k] = x
	}
	return nil
}

// applyOverrides lets the entry's keys win over the preset's.
func (e *Entry) applyOverrides(oc *oauth2.Config) {
	if e.UserinfoMethod != "" {
		oc.UserinfoMethod = e.UserinfoMethod
	}
	if e.ScopeSeparator != "" {
		oc.ScopeSeparator = e.ScopeSeparator
	}
	if e.AuthStyle != "" {
		oc.AuthStyle = e.AuthStyle
	}
	if e.PKCE != nil {
		oc.PKCE = *e.PKCE
	}
	if e.Refresh != nil {
		oc.Refresh = *e.Refresh
	}
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

// UnknownMessage explains an unknown provider type, suggesting the nearest
// preset names.
func UnknownMessage(name string) string {
	all := append([]string{KindOIDC, KindOAuth2}, Names()...)
	msg := fmt.Sprintf("unknown type %q", name)
	if s := nearest(name, all, 3); len(s) > 0 {
		quoted := make([]string, len(s))
		for i, n := range s {
			quoted[i] = fmt.Sprintf("%q", n)
		}
		msg += " (did you mean " + strings.Join(quoted, " or ") + "?)"
	}
	return msg + "; valid types: oidc, oauth2 or a preset (see `sessionbridge providers`)"
}

// nearest returns up to three candidates within maxDist edits of name,
// closest first; a candidate that starts with name also counts.
func nearest(name string, candidates []string, maxDist int) []string {
	type cand struct {
		name string
		dist int
	}
	var cs []cand
	lname := strings.ToLower(name)
	for _, c := range candidates {
		d := textdist.Distance(lname, c)
		if d <= maxDist || (len(lname) >= 3 && strings.HasPrefix(c, lname)) {
			cs = append(cs, cand{c, d})
		}
	}
	sort.SliceStable(cs, func(i, j int) bool {
		if cs[i].dist != cs[j].dist {
			return cs[i].dist < cs[j].dist
		}
		return cs[i].name < cs[j].name
	})
	var out []string
	for i := 0; i < len(cs) && i < 3; i++ {
		out = append(out, cs[i].name)
	}
	return out
}

// endpointProblem is oauth2.CheckEndpoint as a message.
func endpointProblem(raw string) string {
	if err := oauth2.CheckEndpoint(raw); err != nil {
		return err.Error()
	}
	return ""
}
