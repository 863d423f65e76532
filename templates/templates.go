// Package templates embeds the HTML pages and static assets of the bridge.
package templates

import (
	"embed"
	"html/template"
	"io/fs"
)

//go:embed *.html assets
var files embed.FS

// Parse parses every page template.
func Parse() (*template.Template, error) {
	return template.New("pages").ParseFS(files, "*.html")
}

// Assets returns the static files served under /assets/.
func Assets() fs.FS {
	sub, err := fs.Sub(files, "assets")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}
