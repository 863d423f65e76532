package registry

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/sessionbridge/sessionbridge/providers/oauth2"
	"github.com/sessionbridge/sessionbridge/providers/oidc"
	"github.com/sessionbridge/sessionbridge/providers/presets"
)

func TestNewMapsTypeNames(t *testing.T) {
	for name, want := range map[string]any{"oidc": &oidc.Config{}, "oauth2": &oauth2.Entry{}, "github": &presets.Entry{Name: "github"}} {
		got, ok := Types{}.New(name)
		if !ok || reflect.TypeOf(got) != reflect.TypeOf(want) {
			t.Errorf("New(%q) = %T, %v; want %T", name, got, ok, want)
		}
	}
	if e, _ := (Types{}).New("github"); e.(*presets.Entry).Name != "github" {
		t.Error("a preset entry does not know its preset")
	}
	if c, ok := (Types{}).New("githb"); ok || c != nil {
		t.Errorf("New(unknown) = %v, %v", c, ok)
	}
	if _, ok := Builtin("github"); ok {
		t.Error("Builtin knows a preset")
	}
	if msg := (Types{}).Unknown("githb"); !strings.Contains(msg, `did you mean "github"`) {
		t.Errorf("Unknown = %q", msg)
	}
	if names := (Types{}).PresetNames(); len(names) == 0 || names[0] == "oidc" {
		t.Errorf("PresetNames = %v", names)
	}
}

// TestConfigsNeverPrintSecrets: every type's configuration redacts its
// client secret under every fmt verb, also as a pointer.
func TestConfigsNeverPrintSecrets(t *testing.T) {
	const secret = "client-secret-value-123"
	for _, c := range []any{
		&oidc.Config{ClientID: "a", ClientSecret: secret},
		&oauth2.Entry{ClientID: "a", ClientSecret: secret},
		&presets.Entry{Name: "github", ClientID: "a", ClientSecret: secret},
	} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			if out := fmt.Sprintf(verb, c); strings.Contains(out, secret) {
				t.Errorf("%T printed with %s shows the secret: %s", c, verb, out)
			}
		}
	}
}
