// Package templates embeds the HTML pages, their translations and the
// static assets of the bridge. The embedded pages are the default; an
// operator's override directory may redefine any of them.
package templates

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

//go:embed *.html assets locales
var files embed.FS

// Parse parses the embedded page templates.
func Parse() (*template.Template, error) { return ParseWithOverrides("") }

// ParseWithOverrides parses the embedded page templates, then the *.html
// files of overrideDir (when not ""), whose {{define}}s replace the
// embedded ones of the same name.
func ParseWithOverrides(overrideDir string) (*template.Template, error) {
	t, err := template.New("pages").Funcs(template.FuncMap{"tr": Translate}).ParseFS(files, "*.html")
	if err != nil {
		return nil, err
	}
	if overrideDir == "" {
		return t, nil
	}
	names, err := filepath.Glob(filepath.Join(overrideDir, "*.html"))
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		if _, err := t.New(filepath.Base(name)).Parse(string(b)); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return t, nil
}

// Assets returns the static files served under /assets/.
func Assets() fs.FS {
	sub, err := fs.Sub(files, "assets")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}

// DefaultLanguage is the language of the page strings when the browser
// asks for none of the shipped ones.
const DefaultLanguage = "en"

// Catalogs returns every page string of every shipped language, keyed by
// language tag (BCP 47) and then by message key. Every string a page
// shows lives in locales/*.json: one place to translate.
func Catalogs() (map[string]map[string]string, error) {
	entries, err := fs.ReadDir(files, "locales")
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]string{}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := files.ReadFile("locales/" + e.Name())
		if err != nil {
			return nil, err
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("locales/%s: %w", e.Name(), err)
		}
		out[strings.TrimSuffix(e.Name(), ".json")] = m
	}
	if out[DefaultLanguage] == nil {
		return nil, fmt.Errorf("locales/%s.json is missing", DefaultLanguage)
	}
	return out, nil
}

// Translate looks key up in catalog and replaces each {name} placeholder
// with the value that follows name in pairs ("app", "Acme", ...). A key
// missing from the catalog shows as [missing: key], which tests look for.
func Translate(catalog map[string]string, key string, pairs ...any) string {
	s, ok := catalog[key]
	if !ok {
		return "[missing: " + key + "]"
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		s = strings.ReplaceAll(s, "{"+fmt.Sprint(pairs[i])+"}", fmt.Sprint(pairs[i+1]))
	}
	return s
}
