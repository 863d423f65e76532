package httpapi

import (
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"regexp"
	"strings"

	"github.com/sessionbridge/sessionbridge/internal/contrast"
	"github.com/sessionbridge/sessionbridge/templates"
)

// Branding is how the pages present the product: its name, logo and
// primary colour (configuration: branding.*).
type Branding struct {
	AppName string // default "sessionbridge"
	// Logo is the logo file's content and LogoType its media type; served
	// at /assets/logo (the page CSP allows images from the bridge only).
	Logo     []byte
	LogoType string
	// PrimaryColor is #rrggbb or #rgb for buttons and accents; white text
	// on it must reach 4.5:1 (config validation refuses it otherwise).
	PrimaryColor string
	// TemplatesDir holds *.html files whose {{define}}s replace the
	// embedded page templates of the same name ("": none).
	TemplatesDir string
}

// ParseTemplates parses the page templates: the embedded ones, then the
// overrides of dir (when not ""). New calls it; `check` calls it to
// refuse an override that would keep the server from starting. The
// error names the file that failed.
func ParseTemplates(dir string) (*template.Template, error) {
	t, err := templates.ParseWithOverrides(dir)
	if err != nil {
		return nil, fmt.Errorf("branding.templates_dir: %w", err)
	}
	return t, nil
}

// DefaultAppName is the app name when branding.app_name is not set.
const DefaultAppName = "sessionbridge"

// defaultPrimary is the primary colour when branding.primary_color is not set.
const defaultPrimary = "#3346b0"

// brandView is the branding as templates see it; LogoURL is "" without
// a configured logo.
type brandView struct{ AppName, LogoURL string }

func (s *Server) brandView() brandView {
	v := brandView{AppName: s.o.Branding.AppName} // no LogoURL: the built-in mark in the primary colour
	if len(s.o.Branding.Logo) > 0 {
		v.LogoURL = "/assets/logo"
	}
	return v
}

// brandCSS is the generated stylesheet that applies the primary colour,
// so no page needs an inline style (the CSP forbids them).
func brandCSS(primary string) (string, error) {
	if primary == "" {
		primary = defaultPrimary
	}
	c, err := contrast.Parse(primary)
	if err != nil {
		return "", err
	}
	white := contrast.RGB{R: 255, G: 255, B: 255}
	if r := contrast.Ratio(c, white); r < contrast.MinText {
		return "", fmt.Errorf("white text on %s has a contrast of %.2f:1; WCAG AA needs %.1f:1", c.Hex(), r, contrast.MinText)
	}
	return fmt.Sprintf(":root{--primary:%s;--primary-text:#ffffff}\n", c.Hex()), nil
}

// serveBytes answers with fixed content; assets carry a CSP that keeps a
// logo SVG opened directly from running anything.
func serveBytes(contentType string, body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", contentType)
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
		_, _ = w.Write(body)
	}
}

var symbolID = regexp.MustCompile(`<symbol id="([a-z0-9-]+)"`)

// iconNames lists the provider icons in assets/icons.svg, so a page only
// references icons that exist (no broken images).
func iconNames() map[string]bool {
	b, err := fs.ReadFile(templates.Assets(), "icons.svg")
	out := map[string]bool{}
	if err != nil {
		return out
	}
	for _, m := range symbolID.FindAllStringSubmatch(string(b), -1) {
		out[m[1]] = true
	}
	return out
}

// iconFor picks the icon of a provider: by its preset type, else by its key.
func iconFor(icons map[string]bool, typ, key string) string {
	for _, name := range []string{strings.ToLower(typ), strings.ToLower(key)} {
		if icons[name] {
			return name
		}
	}
	return ""
}
