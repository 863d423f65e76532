// Package registry maps a provider type name to its configuration: the
// built-in types by a table of constructors, every other name through the
// catalog of presets (data that the presets package reads). Adding a
// provider type is one package implementing providerconfig.Config and one
// line in builtin.
package registry

import (
	"github.com/sessionbridge/sessionbridge/providers/oauth2"
	"github.com/sessionbridge/sessionbridge/providers/oidc"
	"github.com/sessionbridge/sessionbridge/providers/presets"
	"github.com/sessionbridge/sessionbridge/providers/providerconfig"
)

// builtin maps each built-in type name to a new, empty configuration.
var builtin = map[string]func() providerconfig.Config{
	providerconfig.TypeOIDC:   func() providerconfig.Config { return &oidc.Config{} },
	providerconfig.TypeOAuth2: func() providerconfig.Config { return &oauth2.Entry{} },
}

// Types is the whole registry: the built-in types and the presets of the
// catalog. Its zero value is ready to use.
type Types struct{}

// New returns an empty configuration of type name to decode an entry
// into, or false when no type has that name.
func (Types) New(name string) (providerconfig.Config, bool) {
	if c, ok := Builtin(name); ok {
		return c, true
	}
	if _, ok := presets.Lookup(name); ok {
		return &presets.Entry{Name: name}, true
	}
	return nil, false
}

// PresetNames lists the type names besides the built-in ones, sorted.
func (Types) PresetNames() []string { return presets.Names() }

// Unknown explains an unknown type name, suggesting the nearest names.
func (Types) Unknown(name string) string { return presets.UnknownMessage(name) }

// Builtin returns an empty configuration of a built-in type.
func Builtin(name string) (providerconfig.Config, bool) {
	if c, ok := builtin[name]; ok {
		return c(), true
	}
	return nil, false
}
