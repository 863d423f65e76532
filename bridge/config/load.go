package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sessionbridge/sessionbridge/providers/providerconfig"
	"github.com/sessionbridge/sessionbridge/providers/registry"
)

// Loader reads and validates configuration files. The zero value reads
// ${VAR} from the process environment, decodes every provider entry with
// the registry of provider types, and accepts an unknown provider type
// name when it is well formed.
type Loader struct {
	// Env looks up ${VAR}; nil means os.LookupEnv.
	Env func(name string) (string, bool)
	// Types gives every provider type its configuration, which decodes
	// and checks the rest of the entry; nil means registry.Types. When
	// set, an unknown type is also a problem listing the valid types
	// (`sessionbridge check`); when nil, an unknown type is only checked
	// for form, and building the providers reports it.
	Types ProviderTypes
}

// ProviderTypes is what the configuration needs from the registry of
// provider types.
type ProviderTypes interface {
	// New returns an empty configuration of the named type for an entry
	// to be decoded into, or false for an unknown type.
	New(name string) (providerconfig.Config, bool)
	// PresetNames lists the type names besides oidc and oauth2, for
	// "valid types" messages.
	PresetNames() []string
	// Unknown explains an unknown type name (suggesting near names).
	Unknown(name string) string
}

// newProviderConfig returns an empty configuration of a provider type.
func (l Loader) newProviderConfig(name string) (providerconfig.Config, bool) {
	if l.Types != nil {
		return l.Types.New(name)
	}
	return registry.Types{}.New(name)
}

// Load reads and validates the file at path; see Loader.Load.
func Load(path string, env func(string) (string, bool)) (*Config, error) {
	return Loader{Env: env}.Load(path)
}

// Parse decodes and validates data read from file; see Loader.Parse.
func Parse(file string, data []byte, env func(string) (string, bool)) (*Config, error) {
	return Loader{Env: env}.Parse(file, data)
}

// Load reads the file at path and parses it. A file that cannot be read is
// returned as a plain error; everything wrong inside it as Problems.
func (l Loader) Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	return l.Parse(path, data)
}

// Parse decodes data (named file in messages), expands ${VAR}, applies the
// defaults and validates. On any problem it returns a nil *Config and a
// Problems error listing all of them.
func (l Loader) Parse(file string, data []byte) (*Config, error) {
	col := newCollector(file)
	env := l.Env
	if env == nil {
		env = os.LookupEnv
	}
	root, err := parseDocument(data)
	if err != nil {
		line, msg := syntaxError(err)
		col.addAt(line, "", msg)
		return nil, col.err()
	}
	c := &Config{File: file}
	if root != nil {
		col.lines[""] = root.Line
		d := &decoder{collector: col, env: env, providerConfig: l.newProviderConfig}
		d.value(root, "", reflect.ValueOf(c).Elem())
		if d.nodes > d.limit {
			return nil, col.err() // what was skipped would only add noise
		}
		c.ProviderOrder = providerOrder(root)
	}
	for _, key := range c.ProviderOrder {
		if p, ok := c.Providers[key]; ok {
			p.Key, p.Line = key, col.lines[join("providers", key)]
			c.Providers[key] = p
		}
	}
	explicitZeros(c, col)
	c.ApplyDefaults()
	l.validate(c, col)
	if err := col.err(); err != nil {
		return nil, err
	}
	c.lines = col.lines
	return c, nil
}

// parseDocument returns the top-level node of the only YAML document in
// data, or nil for an empty file.
func parseDocument(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("yaml: line %d: only one document is allowed (remove the second \"---\")", extra.Line)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

var syntaxLineRE = regexp.MustCompile(`^yaml: line (\d+): `)

// syntaxError digs the line number out of a yaml.v3 syntax error, which has
// no structured form, and returns the rest as the message.
func syntaxError(err error) (int, string) {
	msg := err.Error()
	if m := syntaxLineRE.FindStringSubmatch(msg); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil {
			return n, "invalid YAML: " + msg[len(m[0]):]
		}
	}
	return 0, "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")
}

// providerOrder lists the keys under providers: in file order, skipping
// repeated keys (already reported by the decoder).
func providerOrder(root *yaml.Node) []string {
	if root.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "providers" {
			continue
		}
		ps := root.Content[i+1]
		for ps.Kind == yaml.AliasNode {
			ps = ps.Alias
		}
		if ps.Kind != yaml.MappingNode {
			return nil
		}
		var order []string
		seen := map[string]bool{}
		for j := 0; j+1 < len(ps.Content); j += 2 {
			k := ps.Content[j]
			if k.Kind == yaml.ScalarNode && k.Value != "<<" && !seen[k.Value] {
				seen[k.Value] = true
				order = append(order, k.Value)
			}
		}
		return order
	}
	return nil
}

// explicitZeros reports settings written as 0, which would otherwise be
// silently replaced by their defaults.
func explicitZeros(c *Config, col *collector) {
	for _, z := range []struct {
		key  string
		zero bool
	}{
		{"session.duration", c.Session.Duration == 0},
		{"session.max_per_user", c.Session.MaxPerUser == 0},
		{"refresh.before_expiry", c.Refresh.BeforeExpiry == 0},
		{"refresh.timeout", c.Refresh.Timeout == 0},
		{"refresh.concurrency", c.Refresh.Concurrency == 0},
	} {
		if z.zero && col.has(z.key) && !col.null[z.key] {
			col.add(z.key, "must be greater than 0 (leave it out for the default)")
		}
	}
}
