package presets

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/sessionbridge/sessionbridge/internal/textdist"
	"github.com/sessionbridge/sessionbridge/providers/oauth2"
	"github.com/sessionbridge/sessionbridge/providers/providerconfig"
)

// Checker validates provider configurations for `sessionbridge check`. It
// implements bridge/config.PresetChecker (cmd/sessionbridge plugs it in); CheckPreset also accepts the generic
// types oidc and oauth2 (checking the keys the configuration package does
// not know about) and unknown types (suggesting the nearest names).
type Checker struct{}

// PresetNames lists the preset type names.
func (Checker) PresetNames() []string { return Names() }

// CheckPreset validates p and fills its DisplayName from the preset.
func (Checker) CheckPreset(p *providerconfig.Provider) []providerconfig.FieldError {
	var errs []providerconfig.FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, providerconfig.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	switch p.Type {
	case KindOIDC, KindOAuth2:
		checkGeneric(p, p.Type, add)
		if len(p.Settings) > 0 {
			add("settings", "settings apply only to presets; type %s takes its values directly", p.Type)
		}
		return errs
	}
	pr, ok := Lookup(p.Type)
	if !ok {
		add("type", "%s", UnknownMessage(p.Type))
		return errs
	}
	if p.DisplayName == "" {
		p.DisplayName = pr.DisplayName
	}
	if p.ClientID == "" {
		add("client_id", "is required for preset %s (empty: is its environment variable set?)", pr.Name)
	}
	if p.ClientSecret == "" && !pr.NoClientSecret {
		add("client_secret", "is required for preset %s (empty: is its environment variable set?)", pr.Name)
	}
	values, problems := pr.resolveSettings(p.Settings)
	for _, name := range slices.Sorted(maps.Keys(problems)) {
		add("settings."+name, "%s", problems[name])
	}
	if len(problems) == 0 {
		for _, q := range pr.Quirks {
			if f, msg := checkQuirk(q, values); msg != "" {
				add(f, "%s", msg)
			}
		}
	}
	switch pr.Kind {
	case KindOIDC:
		if p.Issuer != "" {
			if msg := endpointProblem(p.Issuer); msg != "" {
				add("issuer", "%s", msg)
			}
		}
		for _, kv := range []struct{ name, value string }{{"auth_url", p.AuthURL}, {"token_url", p.TokenURL}, {"userinfo_url", p.UserinfoURL}, {"userinfo_method", p.UserinfoMethod}, {"scope_separator", p.ScopeSeparator}} {
			if kv.value != "" {
				add(kv.name, "does not apply to preset %s, an OpenID Connect provider (its endpoints come from discovery)", pr.Name)
			}
		}
		if len(p.Claims) > 0 {
			add("claims", "does not apply to preset %s, an OpenID Connect provider (the identity comes from the ID token)", pr.Name)
		}
		if len(p.UserinfoHeaders) > 0 {
			add("userinfo_headers", "does not apply to preset %s, an OpenID Connect provider", pr.Name)
		}
		checkAuthParams(p, add)
	default:
		if p.Issuer != "" {
			add("issuer", "does not apply to preset %s, a plain OAuth2 provider (override auth_url/token_url instead)", pr.Name)
		}
		checkGeneric(p, KindOAuth2, add)
	}
	return errs
}

// checkGeneric checks the keys shared by oauth2 providers and presets that
// the configuration package leaves alone.
func checkGeneric(p *providerconfig.Provider, kind string, add func(field, format string, args ...any)) {
	if kind != KindOIDC && p.RPInitiatedLogout {
		add("rp_initiated_logout", "applies only to OpenID Connect providers (a plain OAuth2 provider has no end_session_endpoint)")
	}
	checkGenericKeys(p, kind, add)
}

func checkGenericKeys(p *providerconfig.Provider, kind string, add func(field, format string, args ...any)) {
	if kind == KindOIDC {
		for _, kv := range []struct{ name, value string }{{"userinfo_method", p.UserinfoMethod}, {"scope_separator", p.ScopeSeparator}} {
			if kv.value != "" {
				add(kv.name, "applies only to type oauth2")
			}
		}
		if len(p.UserinfoHeaders) > 0 {
			add("userinfo_headers", "applies only to type oauth2")
		}
	} else {
		for _, kv := range []struct{ name, value string }{{"auth_url", p.AuthURL}, {"token_url", p.TokenURL}, {"userinfo_url", p.UserinfoURL}} {
			if kv.value != "" && p.Type != KindOAuth2 { // the configuration package checks type oauth2's own
				if msg := endpointProblem(kv.value); msg != "" {
					add(kv.name, "%s", msg)
				}
			}
		}
		switch strings.ToUpper(p.UserinfoMethod) {
		case "", http.MethodGet, http.MethodPost:
		default:
			add("userinfo_method", "%q is not GET or POST", p.UserinfoMethod)
		}
		if len(p.ScopeSeparator) > 1 || strings.ContainsAny(p.ScopeSeparator, "&=#?") {
			add("scope_separator", "%q must be one character such as \" \" or \",\"", p.ScopeSeparator)
		}
		for _, name := range sortedKeys(p.UserinfoHeaders) {
			if err := oauth2.CheckHeader(name, p.UserinfoHeaders[name]); err != nil {
				add("userinfo_headers."+name, "%v", err)
			}
		}
		for _, name := range sortedKeys(p.Claims) {
			if p.Claims[name] == "" {
				continue // reported by the configuration package
			}
			if err := oauth2.CheckPath(p.Claims[name]); err != nil {
				add("claims."+name, "%v", err)
			}
		}
	}
	checkAuthParams(p, add)
}

func checkAuthParams(p *providerconfig.Provider, add func(field, format string, args ...any)) {
	for _, name := range sortedKeys(p.AuthParams) {
		if slices.Contains(reservedParams, name) || name == "" {
			add("auth_params."+name, "is set by the login itself and cannot be configured")
		}
	}
}

// reservedParams are authorization parameters the login sets.
var reservedParams = []string{"client_id", "redirect_uri", "response_type", "scope", "state", "code_challenge", "code_challenge_method", "nonce"}

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

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}
