package presets

import (
	"strings"
	"testing"
)

// TestCatalogLoads checks the embedded data parses strictly and every
// entry is complete and consistent.
func TestCatalogLoads(t *testing.T) {
	m, err := catalog()
	if err != nil {
		t.Fatal(err)
	}
	if len(m) < 47 {
		t.Fatalf("%d presets, want at least 47", len(m))
	}
	for name, p := range m {
		if p.Name == "" || p.DisplayName == "" || !strings.HasPrefix(p.Docs, "https://") {
			t.Errorf("%s: name, display_name and an https docs URL are required", name)
		}
		values := map[string]string{}
		for _, s := range p.Settings {
			if s.Required == (s.Default != "") {
				t.Errorf("%s: setting %s must be required or have a default, not both", name, s.Name)
			}
			values[s.Name] = "x"
			if s.Default != "" {
				if msg := settingProblem(s, s.Default); msg != "" {
					t.Errorf("%s: default of %s: %s", name, s.Name, msg)
				}
			}
			if s.Name == "client_id" || s.Name == "access_token" {
				t.Errorf("%s: setting name %s is reserved", name, s.Name)
			}
		}
		switch p.Kind {
		case KindOIDC:
			if p.Issuer == "" || p.AuthURL != "" || p.TokenURL != "" || len(p.Claims) > 0 {
				t.Errorf("%s: an oidc preset has an issuer and no endpoints or claims", name)
			}
			if _, err := expand(p.Issuer, values); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		case KindOAuth2:
			if p.AuthURL == "" || p.TokenURL == "" || p.Claims["uid"] == "" || p.Issuer != "" {
				t.Errorf("%s: an oauth2 preset needs auth_url, token_url and claims.uid", name)
			}
			for _, u := range []string{p.AuthURL, p.TokenURL, p.RefreshURL, p.UserinfoURL} {
				if _, err := expand(u, values); err != nil {
					t.Errorf("%s: %v", name, err)
				}
			}
			for k := range p.Claims {
				if k != "uid" && k != "email" && k != "email_verified" && k != "name" {
					t.Errorf("%s: unknown claim %s", name, k)
				}
			}
		default:
			t.Errorf("%s: kind %q", name, p.Kind)
		}
		if p.AuthStyle != "basic" && p.AuthStyle != "post" {
			t.Errorf("%s: auth_style must be explicit basic or post, got %q", name, p.AuthStyle)
		}
		if _, err := newHooksCheck(p); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// newHooksCheck builds the hooks with dummy settings (apple's key is
// skipped: it needs a real key).
func newHooksCheck(p Preset) ([]any, error) {
	if p.Name == "apple" {
		return nil, nil
	}
	return newHooks(hookEnv{preset: p})
}
