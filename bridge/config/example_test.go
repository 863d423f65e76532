package config

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// schemaKeys lists every key path the decoder accepts, from the yaml tags
// of the configuration types: "session.duration", "api_keys[].id",
// "providers.*.issuer". Maps of plain values (claims, settings, ...) are
// leaves: their keys are the user's own.
func schemaKeys(t reflect.Type, prefix string, out map[string]bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" || !f.IsExported() {
				continue
			}
			path := join(prefix, name)
			out[path] = true
			schemaKeys(f.Type, path, out)
		}
	case reflect.Slice:
		schemaKeys(t.Elem(), prefix+"[]", out)
	case reflect.Map:
		if el := t.Elem(); el.Kind() == reflect.Struct {
			schemaKeys(el, prefix+".*", out)
		}
	}
}

// exampleKeys lists the key paths config.example.yaml sets, with the same
// normalisation: list items as [], the provider keys as *.
func exampleKeys(n *yaml.Node, prefix string, out map[string]bool) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			exampleKeys(c, prefix, out)
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			exampleKeys(c, prefix+"[]", out)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			if prefix == "providers" {
				key = "*"
			}
			path := join(prefix, key)
			out[path] = true
			exampleKeys(n.Content[i+1], path, out)
		}
	}
}

// Every key the decoder accepts is in config.example.yaml, set (not only
// in a comment), so that the example documents it and the CLI test that
// checks the example validates it.
func TestExampleListsEveryKey(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "config.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	exampleKeys(&doc, "", have)
	want := map[string]bool{}
	schemaKeys(reflect.TypeOf(Config{}), "", want)
	var missing []string
	for k := range want {
		if !have[k] {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("config.example.yaml does not set these keys the decoder accepts:\n  %s", strings.Join(missing, "\n  "))
	}
	if len(want) < 60 {
		t.Errorf("the schema walk found only %d keys: it is not reading the yaml tags", len(want))
	}
}
