package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/sessionbridge/sessionbridge/internal/contrast"
)

// Branding is how the login and account pages present the product.
type Branding struct {
	// AppName is shown on the pages and in their titles (default "sessionbridge").
	AppName string `yaml:"app_name"`
	// Logo is a PNG, SVG, JPEG, WebP or GIF file (at most 512 KiB) served by
	// the bridge at /assets/logo; the pages' CSP allows only its own images.
	Logo string `yaml:"logo"`
	// PrimaryColor (#rrggbb or #rgb) colours buttons and accents through
	// the generated /assets/brand.css; white text on it must reach 4.5:1.
	PrimaryColor string `yaml:"primary_color"`
	// TemplatesDir holds *.html files whose {{define}}s replace the
	// embedded page templates of the same name.
	TemplatesDir string `yaml:"templates_dir"`
}

// MaxLogoBytes bounds branding.logo: it is held in memory and sent with
// every page view.
const MaxLogoBytes = 512 << 10

// LogoTypes maps the accepted logo file extensions to their media types.
var LogoTypes = map[string]string{
	".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
	".webp": "image/webp", ".gif": "image/gif",
}

func checkBranding(b Branding, col *collector) {
	if n := utf8.RuneCountInString(b.AppName); n > 60 || strings.ContainsAny(b.AppName, "\r\n") {
		col.add("branding.app_name", fmt.Sprintf("must be one line of at most 60 characters (it has %d)", n))
	}
	if b.Logo != "" {
		checkLogo(b.Logo, col)
	}
	if b.PrimaryColor != "" {
		checkPrimaryColor(b.PrimaryColor, col)
	}
	if b.TemplatesDir != "" {
		st, err := os.Stat(b.TemplatesDir)
		switch {
		case err != nil:
			col.add("branding.templates_dir", fmt.Sprintf("cannot read the directory: %v", err))
		case !st.IsDir():
			col.add("branding.templates_dir", fmt.Sprintf("%s is not a directory", b.TemplatesDir))
		}
	}
}

func checkLogo(path string, col *collector) {
	ext := strings.ToLower(filepath.Ext(path))
	if LogoTypes[ext] == "" {
		col.add("branding.logo", fmt.Sprintf("%s: the file must end in .png, .svg, .jpg, .jpeg, .webp or .gif", path))
		return
	}
	st, err := os.Stat(path)
	switch {
	case err != nil:
		col.add("branding.logo", fmt.Sprintf("cannot read the logo: %v", err))
	case !st.Mode().IsRegular():
		col.add("branding.logo", fmt.Sprintf("%s is not a regular file", path))
	case st.Size() > MaxLogoBytes:
		col.add("branding.logo", fmt.Sprintf("%s has %d bytes; a logo may have at most %d", path, st.Size(), MaxLogoBytes))
	}
}

// checkPrimaryColor refuses a colour on which the pages' white button
// text would fail WCAG AA (4.5:1).
func checkPrimaryColor(v string, col *collector) {
	c, err := contrast.Parse(v)
	if err != nil {
		col.add("branding.primary_color", err.Error())
		return
	}
	if r := contrast.Ratio(c, contrast.RGB{R: 255, G: 255, B: 255}); r < contrast.MinText {
		col.add("branding.primary_color", fmt.Sprintf("%s: white text on it has a contrast of %.2f:1, below the %.1f:1 WCAG AA needs; choose a darker colour", v, r, contrast.MinText))
	}
}
