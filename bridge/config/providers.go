package config

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/sessionbridge/sessionbridge/providers/providerconfig"
	"github.com/sessionbridge/sessionbridge/providers/registry"
	"gopkg.in/yaml.v3"
)

// provider decodes one entry under providers: into its common keys (the
// Provider struct) and its type's own Config, which the loader's type
// registry supplies for the entry's type. A key neither knows is unknown;
// the suggestion for a typo looks at both. When the type is missing or
// unknown, the other keys are still decoded (into a configuration of the
// built-in type that has the key, then dropped) so that a typo or an
// unset ${VAR} is reported along with the type.
func (d *decoder) provider(n *yaml.Node, path string, v reflect.Value) {
	keys, values, ok := d.keyed(n, path)
	if !ok {
		return
	}
	common := yamlFields(v.Type())
	for i, k := range keys {
		if k.Value == "type" { // first: it decides what the other keys mean
			d.value(values[i], join(path, k.Value), v.Field(common[k.Value]))
		}
	}
	p := v.Addr().Interface().(*Provider)
	var own reflect.Value
	var ownFields map[string]int
	if cfg, known := d.providerConfig(p.Type); known && p.Type != "" {
		p.Config = cfg
		own = reflect.ValueOf(cfg).Elem()
		ownFields = yamlFields(own.Type())
	}
	for i, k := range keys {
		switch idx, isCommon := common[k.Value]; {
		case k.Value == "type":
		case isCommon:
			d.value(values[i], join(path, k.Value), v.Field(idx))
		case !own.IsValid():
			d.untyped(k, values[i], path, common)
		default:
			if idx, isOwn := ownFields[k.Value]; isOwn {
				d.value(values[i], join(path, k.Value), own.Field(idx))
			} else {
				d.addAt(k.Line, join(path, k.Value), unknownKey(k.Value, union(common, ownFields)))
			}
		}
	}
}

// untyped decodes key k of an entry without a known type into a
// throwaway configuration of the first built-in type that has the key,
// or reports it as a key no built-in type knows.
func (d *decoder) untyped(k, value *yaml.Node, path string, common map[string]int) {
	known := common
	for _, name := range builtinTypes {
		cfg, ok := registry.Builtin(name)
		if !ok {
			continue
		}
		target := reflect.ValueOf(cfg).Elem()
		fields := yamlFields(target.Type())
		if idx, has := fields[k.Value]; has {
			d.value(value, join(path, k.Value), target.Field(idx))
			return
		}
		known = union(known, fields)
	}
	d.addAt(k.Line, join(path, k.Value), unknownKey(k.Value, known))
}

// union is the names of two field maps (for typo suggestions).
func union(a, b map[string]int) map[string]int {
	out := make(map[string]int, len(a)+len(b))
	for _, m := range []map[string]int{a, b} {
		for name := range m {
			out[name] = 0
		}
	}
	return out
}

// checkProvider validates one provider entry: its key and type here, the
// rest through its type's own Config.
func (l Loader) checkProvider(p *Provider, col *collector) {
	base := join("providers", p.Key)
	if !providerKeyRE.MatchString(p.Key) {
		col.add(base, fmt.Sprintf("%q is not a valid provider key: lower-case letters, digits, '_' or '-', starting with a letter or digit (it appears in URLs and in Session.provider)", p.Key))
	}
	switch {
	case p.Type == "":
		col.add(join(base, "type"), "is required: "+l.typeList())
	case p.Config != nil:
		for _, fe := range l.checkConfig(p) {
			col.add(join(base, fe.Field), fe.Message)
		}
	default:
		l.checkUnknownType(p, base, col)
	}
}

// checkConfig runs the checks of the entry's type. A loader without a
// registry checks a preset's keys only for form, as it checks the type
// name only for form: the registry that builds the providers checks the
// rest.
func (l Loader) checkConfig(p *Provider) []providerconfig.FieldError {
	if _, builtin := registry.Builtin(p.Type); l.Types == nil && !builtin {
		if f, ok := p.Config.(providerconfig.FormChecker); ok {
			return f.CheckForm()
		}
	}
	return p.Config.Check()
}

// checkUnknownType reports a type without a configuration: unknown to
// the registry, or (without a registry) a preset name checked for form
// only. A known type without a configuration can only come from code.
func (l Loader) checkUnknownType(p *Provider, base string, col *collector) {
	if _, known := l.newProviderConfig(p.Type); known {
		col.add(base, fmt.Sprintf("has no configuration for type %s (a configuration built in code must set Config)", p.Type))
		return
	}
	if l.Types != nil {
		// The registry words unknown types best (it suggests near names);
		// fall back to the plain list when it says nothing.
		msg := l.Types.Unknown(p.Type)
		if msg == "" {
			msg = fmt.Sprintf("unknown type %q; %s", p.Type, l.typeList())
		}
		col.add(join(base, "type"), msg)
		return
	}
	if !typeNameRE.MatchString(p.Type) {
		col.add(join(base, "type"), fmt.Sprintf("%q is not a valid type name: %s", p.Type, l.typeList()))
	}
}

// typeList describes the valid provider types for messages.
func (l Loader) typeList() string {
	if l.Types == nil {
		return "oidc, oauth2 or a preset name (see `sessionbridge providers`)"
	}
	names := slices.Clone(l.Types.PresetNames())
	sort.Strings(names)
	return "valid types: " + strings.Join(append(slices.Clone(builtinTypes), names...), ", ")
}
