// Package presets holds the built-in provider presets as data
// (presets.yaml), validates configurations that name them, and builds any
// configured provider: `type: oidc`, `type: oauth2` or a preset. Quirks that
// data cannot express live in small quirk_*.go files implementing the hook
// interfaces of providers/oauth2.
package presets

//go:generate go run ./internal/gendocs -o ../../docs/providers.md

import (
	"bytes"
	_ "embed"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// What revoking one token ends (Preset.Revocation).
const (
	RevocationToken = "token"
	RevocationGrant = "grant"
)

// Kinds of preset.
const (
	KindOIDC   = "oidc"
	KindOAuth2 = "oauth2"
)

// Preset is one built-in provider.
type Preset struct {
	Name        string `yaml:"name"`
	DisplayName string `yaml:"display_name"`
	Kind        string `yaml:"kind"` // oidc | oauth2
	// Docs is the documentation the endpoints were taken from.
	Docs  string `yaml:"docs"`
	Notes string `yaml:"notes"`

	// kind oidc: the issuer template.
	Issuer string `yaml:"issuer"`

	// kind oauth2: endpoint templates and the user-info mapping.
	AuthURL         string            `yaml:"auth_url"`
	TokenURL        string            `yaml:"token_url"`
	RefreshURL      string            `yaml:"refresh_url"`
	UserinfoURL     string            `yaml:"userinfo_url"`
	UserinfoMethod  string            `yaml:"userinfo_method"`
	UserinfoHeaders map[string]string `yaml:"userinfo_headers"`
	TokenHeaders    map[string]string `yaml:"token_headers"`
	Claims          map[string]string `yaml:"claims"`
	ScopeSeparator  string            `yaml:"scope_separator"`

	Scopes     []string          `yaml:"scopes"`
	AuthParams map[string]string `yaml:"auth_params"`
	AuthStyle  string            `yaml:"auth_style"`
	PKCE       bool              `yaml:"pkce"`
	Refresh    bool              `yaml:"refresh"`
	// RevocationURL is the RFC 7009 revocation endpoint of a kind oauth2
	// preset (an oidc preset's comes from discovery).
	RevocationURL string `yaml:"revocation_url"`
	// Revocation says what revoking one token ends there: "token" (only
	// that login's tokens) or "grant" (default: the user's whole grant to
	// the client, as at Google and GitHub), so the bridge revokes only
	// when the user's last session at the provider ends.
	Revocation string `yaml:"revocation"`
	// UIDClaims, for an oidc preset, build providerUid from these ID
	// token claims joined with ":" instead of sub alone (Slack: team and
	// user, since user IDs are per workspace). "sub" must be one of them;
	// identities stored under the bare sub still find their user.
	UIDClaims []string `yaml:"uid_claims"`
	// TokenBody "json" sends token requests as JSON (Podio).
	TokenBody string `yaml:"token_body"`
	// ErrorAliases rename the provider's error codes for a dead refresh
	// token to invalid_grant (GitHub, Slack answer them with HTTP 200).
	ErrorAliases map[string]string `yaml:"error_aliases"`
	// PKCEUndocumented: PKCE is sent (the provider accepts it) but its
	// documentation does not describe it.
	PKCEUndocumented bool `yaml:"pkce_undocumented"`
	// RefreshNote qualifies the refresh column (GitHub: Apps only).
	RefreshNote string `yaml:"refresh_note"`
	// Rotation says how the provider treats refresh tokens on use
	// (rotation, reuse detection), because losing one rotation there
	// revokes the grant.
	Rotation string `yaml:"rotation"`
	// Refs cite the documentation behind each preset decision: topic →
	// URL.
	Refs map[string]string `yaml:"refs"`
	// MinRefreshInterval is the provider's own limit on refreshing one
	// grant (Apple: validate a refresh token at most once a day); a
	// provider's min_refresh_interval overrides it.
	MinRefreshInterval time.Duration `yaml:"min_refresh_interval"`
	// NoClientSecret: the provider authenticates the client another way
	// (Apple's signed assertion) or not at all (Etsy, a public client).
	NoClientSecret bool `yaml:"no_client_secret"`

	Settings []Setting `yaml:"settings"`
	// Quirks name Go hooks (quirks.go).
	Quirks []string `yaml:"quirks"`
}

// Setting is a per-deployment value a preset's templates use.
type Setting struct {
	Name     string `yaml:"name"`
	Required bool   `yaml:"required"`
	Default  string `yaml:"default"`
	// Kind constrains the value: host, segment, url, text or pem.
	Kind   string `yaml:"kind"`
	Secret bool   `yaml:"secret"`
	Help   string `yaml:"help"`
}

//go:embed presets.yaml
var presetsYAML []byte

// catalog parses the embedded data once; it is never modified afterwards.
var catalog = sync.OnceValues(func() (map[string]Preset, error) {
	var list []Preset
	dec := yaml.NewDecoder(bytes.NewReader(presetsYAML))
	dec.KnownFields(true)
	if err := dec.Decode(&list); err != nil {
		return nil, fmt.Errorf("presets.yaml: %w", err)
	}
	m := make(map[string]Preset, len(list))
	for _, p := range list {
		if _, dup := m[p.Name]; dup {
			return nil, fmt.Errorf("presets.yaml: duplicate preset %q", p.Name)
		}
		m[p.Name] = p
	}
	return m, nil
})

// all returns the catalog; the embedded data is checked by the package's
// tests, so an error here is a build defect and yields an empty catalog
// rather than a panic.
func all() map[string]Preset {
	m, err := catalog()
	if err != nil {
		return nil
	}
	return m
}

// Names lists the preset names, sorted.
func Names() []string {
	return slices.Sorted(maps.Keys(all()))
}

// Lookup returns a copy of the named preset.
func Lookup(name string) (Preset, bool) {
	p, ok := all()[name]
	if !ok {
		return Preset{}, false
	}
	return p.clone(), true
}

func (p Preset) clone() Preset {
	p.UserinfoHeaders = maps.Clone(p.UserinfoHeaders)
	p.TokenHeaders = maps.Clone(p.TokenHeaders)
	p.Claims = maps.Clone(p.Claims)
	p.AuthParams = maps.Clone(p.AuthParams)
	p.Scopes = slices.Clone(p.Scopes)
	p.Settings = slices.Clone(p.Settings)
	p.Quirks = slices.Clone(p.Quirks)
	p.ErrorAliases = maps.Clone(p.ErrorAliases)
	p.Refs = maps.Clone(p.Refs)
	p.UIDClaims = slices.Clone(p.UIDClaims)
	return p
}

// Setting returns the named setting's definition.
func (p Preset) Setting(name string) (Setting, bool) {
	for _, s := range p.Settings {
		if s.Name == name {
			return s, true
		}
	}
	return Setting{}, false
}

// RequiredSettings lists the names of the settings without a default.
func (p Preset) RequiredSettings() []string {
	var out []string
	for _, s := range p.Settings {
		if s.Required {
			out = append(out, s.Name)
		}
	}
	return out
}

var (
	placeholderRE = regexp.MustCompile(`\{([a-z_]+)\}`)
	hostRE        = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$`)
	segmentRE     = regexp.MustCompile(`^[A-Za-z0-9._~-]+$`)
)

// requestPlaceholders are filled per request by providers/oauth2, not
// from settings.
var requestPlaceholders = []string{"client_id", "client_secret", "access_token"}

// settingProblem checks one setting value against its kind.
func settingProblem(s Setting, v string) string {
	switch s.Kind {
	case "host":
		if !hostRE.MatchString(v) {
			return fmt.Sprintf("%q is not a host name (no scheme or path, e.g. example.okta.com)", v)
		}
	case "segment":
		if !segmentRE.MatchString(v) || v == "." || v == ".." {
			return fmt.Sprintf("%q may contain only letters, digits, '.', '_', '~' and '-'", v)
		}
	case "url":
		if v != strings.TrimRight(v, "/") {
			return fmt.Sprintf("%q must not end with '/'", v)
		}
		if msg := endpointProblem(v); msg != "" {
			return msg
		}
		if strings.ContainsAny(v, "?#") {
			return fmt.Sprintf("%q must not have a query or fragment", v)
		}
	case "pem":
		if !strings.Contains(v, "-----BEGIN") {
			return "must be a PEM block (-----BEGIN PRIVATE KEY----- ...)"
		}
	default: // text
		if strings.ContainsAny(v, "\r\n") || strings.TrimSpace(v) != v {
			return "must be one line without surrounding spaces"
		}
	}
	return ""
}

// resolveSettings merges configured settings with defaults and checks
// them. Problems are keyed by setting name ("" for the whole map).
func (p Preset) resolveSettings(given map[string]string) (map[string]string, map[string]string) {
	values := map[string]string{}
	problems := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(given)) {
		if _, ok := p.Setting(name); !ok {
			problems[name] = unknownSettingMessage(p, name)
		}
	}
	for _, s := range p.Settings {
		v, ok := given[s.Name]
		if !ok || v == "" {
			if s.Required {
				msg := fmt.Sprintf("is required for preset %s: %s", p.Name, s.Help)
				if ok {
					msg = fmt.Sprintf("is empty (an environment variable left empty?); preset %s needs %s", p.Name, s.Help)
				}
				problems[s.Name] = msg
				continue
			}
			v = s.Default
		}
		if msg := settingProblem(s, v); msg != "" {
			problems[s.Name] = msg
			continue
		}
		values[s.Name] = v
	}
	return values, problems
}

func unknownSettingMessage(p Preset, name string) string {
	var names []string
	for _, s := range p.Settings {
		names = append(names, s.Name)
	}
	if len(names) == 0 {
		return fmt.Sprintf("unknown setting %q: preset %s takes no settings", name, p.Name)
	}
	msg := fmt.Sprintf("unknown setting %q for preset %s; valid settings: %s", name, p.Name, strings.Join(names, ", "))
	if s := nearest(name, names, 3); len(s) > 0 {
		msg = fmt.Sprintf("unknown setting %q for preset %s (did you mean %q?); valid settings: %s", name, p.Name, s[0], strings.Join(names, ", "))
	}
	return msg
}

// expand fills {setting} placeholders; {client_id} and {access_token} are
// left for request time. A placeholder without a value is an error.
func expand(tmpl string, values map[string]string) (string, error) {
	var missing []string
	out := placeholderRE.ReplaceAllStringFunc(tmpl, func(m string) string {
		name := m[1 : len(m)-1]
		if slices.Contains(requestPlaceholders, name) {
			return m
		}
		v, ok := values[name]
		if !ok {
			missing = append(missing, name)
			return m
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("template %q uses unknown setting(s) %s", tmpl, strings.Join(missing, ", "))
	}
	return out, nil
}

// Expand returns the preset with its URL templates filled from settings,
// defaults applied ({client_id} and {access_token} are kept for request
// time). It fails when a setting is missing or invalid.
func (p Preset) Expand(settings map[string]string) (Preset, error) {
	values, problems := p.resolveSettings(settings)
	for _, name := range slices.Sorted(maps.Keys(problems)) {
		return p, fmt.Errorf("settings.%s: %s", name, problems[name])
	}
	out := p.clone()
	for _, s := range []*string{&out.Issuer, &out.AuthURL, &out.TokenURL, &out.RefreshURL, &out.UserinfoURL, &out.RevocationURL} {
		v, err := expand(*s, values)
		if err != nil {
			return p, err
		}
		*s = v
	}
	return out, nil
}
