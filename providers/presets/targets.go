package presets

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sessionbridge/sessionbridge/providers/providerconfig"
)

// Targets lists what check --online reaches for the entry: the issuer of
// an OpenID Connect preset, or the endpoints of a plain OAuth2 one, with
// templates filled from the settings.
func (e *Entry) Targets() ([]providerconfig.Target, error) {
	pr, ok := Lookup(e.Name)
	if !ok {
		return nil, errors.New(UnknownMessage(e.Name))
	}
	values, problems := pr.resolveSettings(e.Settings)
	if len(problems) > 0 {
		return nil, fmt.Errorf("settings are invalid (run check without --online)")
	}
	if pr.Kind != KindOIDC {
		return e.endpointTargets(pr, values)
	}
	if e.Issuer != "" {
		return []providerconfig.Target{{Key: "issuer", URL: e.Issuer, Discovery: true}}, nil
	}
	issuer, err := expand(pr.Issuer, values)
	if err != nil {
		return nil, err
	}
	return []providerconfig.Target{{Key: templateKey(pr.Issuer), URL: issuer, Discovery: true}}, nil
}

func (e *Entry) endpointTargets(pr Preset, values map[string]string) ([]providerconfig.Target, error) {
	var out []providerconfig.Target
	for _, e := range []struct{ key, tmpl, override string }{
		{"auth_url", pr.AuthURL, e.AuthURL},
		{"token_url", pr.TokenURL, e.TokenURL},
		{"userinfo_url", pr.UserinfoURL, e.UserinfoURL},
	} {
		if e.override != "" {
			out = append(out, providerconfig.Target{Key: e.key, URL: e.override})
			continue
		}
		if e.tmpl == "" {
			continue
		}
		u, err := expand(e.tmpl, values)
		if err != nil {
			return nil, err
		}
		if !strings.Contains(u, "{") { // a request-time placeholder: nothing fixed to reach
			out = append(out, providerconfig.Target{Key: templateKey(e.tmpl), URL: u})
		}
	}
	return out, nil
}

// templateKey is the key that decides a preset's URL template: its first
// setting placeholder, or "type" when the preset fixes the URL.
func templateKey(tmpl string) string {
	for _, m := range placeholderRE.FindAllStringSubmatch(tmpl, -1) {
		if !slices.Contains(requestPlaceholders, m[1]) {
			return "settings." + m[1]
		}
	}
	return "type"
}
