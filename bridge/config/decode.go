package config

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sessionbridge/sessionbridge/internal/textdist"
	"github.com/sessionbridge/sessionbridge/providers/providerconfig"
)

// maxNodes bounds the work done on one file, so that YAML aliases cannot
// make decoding explode ("billion laughs").
const maxNodes = 100000

var (
	durationType = reflect.TypeOf(time.Duration(0))
	providerType = reflect.TypeOf(Provider{})
)

// decoder walks a yaml.Node tree and fills Go values through reflection,
// driven by the yaml struct tags of the schema. Doing this by hand rather
// than with Node.Decode is what gives every problem a line and a full key
// path, makes unknown and duplicate keys errors everywhere, expands ${VAR}
// in values only, and lets all problems be collected instead of the first.
type decoder struct {
	*collector
	env func(string) (string, bool)
	// providerConfig returns an empty configuration of a provider type.
	providerConfig func(name string) (providerconfig.Config, bool)
	nodes          int
	limit          int // node budget; 0 means maxNodes
}

// value decodes n into v; path is n's key path.
func (d *decoder) value(n *yaml.Node, path string, v reflect.Value) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if d.limit == 0 {
		d.limit = maxNodes
	}
	if d.nodes++; d.nodes > d.limit {
		if d.nodes == d.limit+1 {
			d.fail(n.Line, path, "the document is too large (too many values or aliases)")
		}
		return
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		d.null[path] = true
		return // an empty value leaves the zero value, which defaults fill
	}
	t := v.Type()
	switch {
	case t.Kind() == reflect.Pointer:
		elem := reflect.New(t.Elem())
		d.value(n, path, elem.Elem())
		v.Set(elem)
	case t == providerType:
		d.provider(n, path, v)
	case t.Kind() == reflect.Struct:
		d.structure(n, path, v)
	case t.Kind() == reflect.Map:
		d.mapping(n, path, v)
	case t.Kind() == reflect.Slice:
		d.sequence(n, path, v)
	default:
		d.scalar(n, path, v)
	}
}

// fail records a problem with the value at path. Validation then stays
// quiet about path and what is below it: after "VAR is not set" the
// resulting empty value would only add a confusing second message.
func (d *decoder) fail(line int, path, msg string) {
	d.bad[path] = true
	d.addAt(line, path, msg)
}

// keyed returns n's key/value pairs, reporting duplicate keys (at the line
// of the repeated one) and keys that are not plain scalars.
func (d *decoder) keyed(n *yaml.Node, path string) (keys []*yaml.Node, values []*yaml.Node, ok bool) {
	if n.Kind != yaml.MappingNode {
		d.fail(n.Line, path, "want a mapping of keys to values, not "+describe(n))
		return nil, nil, false
	}
	first := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.addAt(k.Line, path, "keys must be plain names, not "+describe(k))
			continue
		}
		if k.Value == "<<" {
			d.addAt(k.Line, join(path, k.Value), "merge keys (<<) are not supported; repeat the values instead")
			continue
		}
		if line, dup := first[k.Value]; dup {
			d.addAt(k.Line, join(path, k.Value), fmt.Sprintf("duplicate key (first defined on line %d)", line))
			continue
		}
		first[k.Value] = k.Line
		d.lines[join(path, k.Value)] = k.Line
		keys, values = append(keys, k), append(values, val)
	}
	return keys, values, true
}

func (d *decoder) structure(n *yaml.Node, path string, v reflect.Value) {
	keys, values, ok := d.keyed(n, path)
	if !ok {
		return
	}
	fields := yamlFields(v.Type())
	for i, k := range keys {
		idx, known := fields[k.Value]
		if !known {
			d.addAt(k.Line, join(path, k.Value), unknownKey(k.Value, fields))
			continue
		}
		d.value(values[i], join(path, k.Value), v.Field(idx))
	}
}

func (d *decoder) mapping(n *yaml.Node, path string, v reflect.Value) {
	keys, values, ok := d.keyed(n, path)
	if !ok {
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMapWithSize(v.Type(), len(keys)))
	}
	for i, k := range keys {
		elem := reflect.New(v.Type().Elem()).Elem()
		d.value(values[i], join(path, k.Value), elem)
		v.SetMapIndex(reflect.ValueOf(k.Value), elem)
	}
}

func (d *decoder) sequence(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind != yaml.SequenceNode {
		d.fail(n.Line, path, "want a list (e.g. [a, b] or one \"- item\" per line), not "+describe(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		d.lines[index(path, i)] = item.Line
		d.value(item, index(path, i), s.Index(i))
	}
	v.Set(s)
}

// scalar expands ${VAR} and converts the text to v's type. Type errors
// quote the text as written in the file, before expansion, so a value that
// came from the environment (possibly a secret) is never echoed.
func (d *decoder) scalar(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n.Line, path, "want a single value, not "+describe(n))
		return
	}
	text, err := expand(n.Value, d.env)
	if err != nil {
		d.fail(n.Line, path, err.Error())
		return
	}
	switch {
	case v.Type() == durationType:
		dur, err := time.ParseDuration(text)
		if err != nil {
			d.fail(n.Line, path, fmt.Sprintf("%s is not a duration; use Go syntax such as 90s, 5m or 8760h", quoteShort(n.Value)))
			return
		}
		v.SetInt(int64(dur))
	case v.Kind() == reflect.String:
		v.SetString(text)
	case v.Kind() == reflect.Bool:
		switch strings.ToLower(text) {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			d.fail(n.Line, path, fmt.Sprintf("%s is not a boolean; use true or false", quoteShort(n.Value)))
		}
	case v.Kind() == reflect.Int:
		i, err := strconv.Atoi(text)
		if err != nil {
			d.fail(n.Line, path, fmt.Sprintf("%s is not a whole number", quoteShort(n.Value)))
			return
		}
		v.SetInt(int64(i))
	case v.Kind() == reflect.Float64:
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.fail(n.Line, path, fmt.Sprintf("%s is not a number", quoteShort(n.Value)))
			return
		}
		v.SetFloat(f)
	default:
		// Only reachable if the schema gains a field type this decoder
		// does not know; report it rather than panic.
		d.fail(n.Line, path, "unsupported setting type "+v.Type().String())
	}
}

// yamlFields maps a struct's yaml tag names to field indexes.
func yamlFields(t reflect.Type) map[string]int {
	fields := make(map[string]int, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			fields[name] = i
		}
	}
	return fields
}

// unknownKey builds the message for an unknown key, suggesting the closest
// known key when it looks like a typo.
func unknownKey(key string, fields map[string]int) string {
	best, bestDist := "", 3
	for name := range fields {
		if dist := textdist.Distance(key, name); dist < bestDist || dist == bestDist && best != "" && name < best {
			best, bestDist = name, dist
		}
	}
	if best != "" {
		return fmt.Sprintf("unknown key %q (did you mean %q?)", key, best)
	}
	return fmt.Sprintf("unknown key %q", key)
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return "a single value"
	}
}

// quoteShort quotes text for a message, shortened so a pasted blob does not
// flood the output.
func quoteShort(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return strconv.Quote(s)
}
