package config

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/sessionbridge/sessionbridge/providers/providerconfig"
)

// checkProvider validates one provider entry: its key here, its keys
// through the provider packages (providerconfig for the shared keys and
// the built-in types, the preset checker for presets), and lets the
// preset checker fill its preset defaults.
func (l Loader) checkProvider(p *Provider, col *collector) {
	base := join("providers", p.Key)
	if !providerKeyRE.MatchString(p.Key) {
		col.add(base, fmt.Sprintf("%q is not a valid provider key: lower-case letters, digits, '_' or '-', starting with a letter or digit (it appears in URLs and in Session.provider)", p.Key))
	}
	addAll(col, base, providerconfig.Check(p))
	switch p.Type {
	case "":
		col.add(join(base, "type"), "is required: "+l.typeList())
	case providerconfig.TypeOIDC, providerconfig.TypeOAuth2:
	default:
		l.checkPresetType(p, base, col)
	}
}

// addAll records a provider's field errors under its key path.
func addAll(col *collector, base string, errs []FieldError) {
	for _, fe := range errs {
		col.add(join(base, fe.Field), fe.Message)
	}
}

func (l Loader) checkPresetType(p *Provider, base string, col *collector) {
	if l.Presets == nil {
		if !typeNameRE.MatchString(p.Type) {
			col.add(join(base, "type"), fmt.Sprintf("%q is not a valid type name: %s", p.Type, l.typeList()))
		}
		return
	}
	if !slices.Contains(l.Presets.PresetNames(), p.Type) {
		// The registry words unknown types best (it suggests near names);
		// fall back to the plain list when it says nothing about the type.
		for _, fe := range l.Presets.CheckPreset(p) {
			if fe.Field == "type" {
				col.add(join(base, "type"), fe.Message)
				return
			}
		}
		col.add(join(base, "type"), fmt.Sprintf("unknown type %q; %s", p.Type, l.typeList()))
		return
	}
	addAll(col, base, l.Presets.CheckPreset(p))
}

// typeList describes the valid provider types for messages.
func (l Loader) typeList() string {
	if l.Presets == nil {
		return "oidc, oauth2 or a preset name (see `sessionbridge providers`)"
	}
	names := slices.Clone(l.Presets.PresetNames())
	sort.Strings(names)
	return "valid types: " + strings.Join(append(slices.Clone(builtinTypes), names...), ", ")
}
