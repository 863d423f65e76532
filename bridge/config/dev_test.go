package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/oidc"
	"github.com/sessionbridge/sessionbridge/providers/providerconfig"
	"github.com/sessionbridge/sessionbridge/providers/registry"
)

func TestDev(t *testing.T) {
	tests := []struct {
		listen, wantListen, wantPublic string
	}{
		{"", "127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"127.0.0.1:9000", "127.0.0.1:9000", "http://127.0.0.1:9000"},
		{"localhost:8080", "localhost:8080", "http://localhost:8080"},
		{"0.0.0.0:8080", "0.0.0.0:8080", "http://127.0.0.1:8080"},
		{":8080", ":8080", "http://127.0.0.1:8080"},
		{"[::]:8080", "[::]:8080", "http://127.0.0.1:8080"},
		{"[::1]:8080", "[::1]:8080", "http://[::1]:8080"},
	}
	for _, tt := range tests {
		c := Dev(tt.listen)
		if !c.Dev || c.Listen != tt.wantListen || c.PublicURL != tt.wantPublic {
			t.Errorf("Dev(%q): dev=%v listen=%q public_url=%q", tt.listen, c.Dev, c.Listen, c.PublicURL)
		}
	}
	c := Dev("")
	if c.Project != "default" || c.Store.Driver != "sqlite" || c.Store.DSN != "./sessionbridge-data/sessionbridge.db" ||
		!c.Refresh.RefreshEnabled() || c.Refresh.BeforeExpiry != 60*time.Second || c.Session.Duration != 8760*time.Hour ||
		len(c.Providers) != 0 || len(c.Secrets.SessionKeys) != 0 {
		t.Errorf("Dev config = %+v", c)
	}
	// Without secrets it is not valid yet; with decoded keys and a provider
	// added in code, it is.
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "secrets.session_keys: at least one key is required") {
		t.Errorf("Validate without secrets = %v", err)
	}
	c.Secrets.SessionKeyBytes = [][]byte{bytes.Repeat([]byte{1}, 64)}
	c.Secrets.TokenKeyBytes = [][]byte{bytes.Repeat([]byte{2}, 32)}
	c.Providers = map[string]Provider{"dev": {Type: "oidc", Config: &oidc.Config{Issuer: "http://127.0.0.1:8080/dev", ClientID: "dev"}}}
	c.ApplyDefaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if p := c.Providers["dev"]; p.Key != "dev" || p.DisplayName != "dev" || p.Config.(*oidc.Config).AuthStyle != "basic" || !reflect.DeepEqual(c.ProviderOrder, []string{"dev"}) {
		t.Errorf("provider defaults not applied: %+v order=%v", p, c.ProviderOrder)
	}
	c.Secrets.TokenKeyBytes = [][]byte{bytes.Repeat([]byte{2}, 16)}
	err := c.Validate()
	var ps Problems
	if !errors.As(err, &ps) || len(ps) != 1 || ps.Error() != "secrets.token_keys[0]: decodes to 16 bytes; a token key must be exactly 32 (AES-256) (generate one with: openssl rand -base64 32)" {
		t.Errorf("Validate with a short decoded key = %v", err)
	}
}

func TestApplyDefaultsKeepsSetValues(t *testing.T) {
	c := &Config{Listen: "10.0.0.1:80", Project: "p", Store: Store{Driver: "postgres"}, Refresh: Refresh{Timeout: time.Second}}
	c.ApplyDefaults()
	if c.Listen != "10.0.0.1:80" || c.PublicURL != "http://10.0.0.1:80" || c.Project != "p" || c.Refresh.Timeout != time.Second {
		t.Errorf("set values overwritten: %+v", c)
	}
	if c.Store.DSN != "" {
		t.Errorf("postgres got the SQLite default DSN %q", c.Store.DSN)
	}
}

func TestNullValuesTakeDefaults(t *testing.T) {
	c, ps := parse(t, "session:\n  max_per_user:\n  duration: ~\nlog:\n"+secretsYAML, nil)
	if ps != nil {
		t.Fatalf("problems:\n%v", ps)
	}
	if c.Session.MaxPerUser != 10 || c.Session.Duration != 8760*time.Hour || c.Log.Level != "info" {
		t.Errorf("defaults not applied to null values: %+v", c.Session)
	}
}

// fakeTypes stands in for the provider type registry: the built-in types
// and two presets.
type fakeTypes struct{}

func (fakeTypes) PresetNames() []string { return []string{"google", "github"} }

func (fakeTypes) New(name string) (providerconfig.Config, bool) {
	if c, ok := registry.Builtin(name); ok {
		return c, true
	}
	if slices.Contains(fakeTypes{}.PresetNames(), name) {
		return &fakePreset{typ: name}, true
	}
	return nil, false
}

func (fakeTypes) Unknown(name string) string { return "" }

// fakePreset is a preset's own configuration.
type fakePreset struct {
	typ      string
	ClientID string   `yaml:"client_id"`
	Scopes   []string `yaml:"scopes"`
}

func (p *fakePreset) Check() []providerconfig.FieldError {
	if p.ClientID == "" {
		return []providerconfig.FieldError{{Field: "client_id", Message: "is required for " + p.typ}}
	}
	p.Scopes = append(p.Scopes, "preset-default")
	return nil
}

func (p *fakePreset) Open(context.Context, providerconfig.Env) (providers.Provider, error) {
	return nil, errors.New("not built in this test")
}

func TestLoaderPresets(t *testing.T) {
	l := Loader{Env: envMap(nil), Types: fakeTypes{}}
	doc := "providers:\n  gh:\n    type: github\n    client_id: a\n  g:\n    type: google\n  x:\n    type: gitlab\n  o:\n    type: oidc\n    issuer: https://o.example\n    client_id: a\n" + secretsYAML
	_, err := l.Parse("sb.yaml", []byte(doc))
	want := "sb.yaml:5: providers.g.client_id: is required for google\n" +
		"sb.yaml:8: providers.x.type: unknown type \"gitlab\"; valid types: oidc, oauth2, github, google"
	if err == nil || err.Error() != want {
		t.Fatalf("got\n%v\nwant\n%s", err, want)
	}
	doc = "providers:\n  gh:\n    type: github\n    client_id: a\n" + secretsYAML
	c, err := l.Parse("sb.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Providers["gh"].Config.(*fakePreset).Scopes; !reflect.DeepEqual(got, []string{"preset-default"}) {
		t.Errorf("Check's changes lost: scopes = %v", got)
	}
}

func TestNoSecretsWhenPrinted(t *testing.T) {
	doc := "api_keys:\n  - {id: a, secret: api-secret-value-123, scopes: [users.read]}\nproviders:\n  g:\n    type: github\n    client_secret: client-secret-value\n" + secretsYAML
	c, ps := parse(t, doc, nil)
	if ps != nil {
		t.Fatal(ps)
	}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(format, *c) + fmt.Sprintf(format, c)
		for _, secret := range []string{"api-secret-value-123", "client-secret-value", key32, "[1 1 1 1"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s of Config shows a secret (%q):\n%s", format, secret, out)
			}
		}
	}
}

func TestProblemString(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{File: "a.yaml", Line: 3, Key: "providers.corp.issuer", Message: "is required"}, "a.yaml:3: providers.corp.issuer: is required"},
		{Problem{File: "a.yaml", Line: 3, Message: "invalid YAML: x"}, "a.yaml:3: invalid YAML: x"},
		{Problem{Key: "listen", Message: "bad"}, "listen: bad"},
		{Problem{File: "a.yaml", Key: "listen", Message: "bad"}, "a.yaml: listen: bad"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestCookieDomainAccepted(t *testing.T) {
	for _, domain := range []string{"example.com", ".example.com", "auth.example.com"} {
		_, ps := parse(t, "public_url: https://auth.example.com\ncookies: {domain: \""+domain+"\"}\n"+secretsYAML, nil)
		if ps != nil {
			t.Errorf("domain %q: %v", domain, ps)
		}
	}
}
