package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBrandingKeys(t *testing.T) {
	dir := t.TempDir()
	logo := filepath.Join(dir, "logo.svg")
	if err := os.WriteFile(logo, []byte("<svg/>"), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := "branding:\n  app_name: Acme\n  logo: " + logo + "\n  primary_color: \"#1f4e8c\"\n  templates_dir: " + dir + "\n" + secretsYAML
	c, ps := parse(t, doc, nil)
	if ps != nil {
		t.Fatalf("valid branding refused:\n%v", ps)
	}
	if c.Branding.AppName != "Acme" || c.Branding.Logo != logo || c.Branding.PrimaryColor != "#1f4e8c" || c.Branding.TemplatesDir != dir {
		t.Errorf("branding = %+v", c.Branding)
	}
}

func TestBrandingProblems(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.png")
	if err := os.WriteFile(big, make([]byte, MaxLogoBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, doc, key, msg string
	}{
		{"low contrast colour", "branding:\n  primary_color: \"#7fb3ff\"\n", "branding.primary_color", "contrast of 2.1"},
		{"yellow", "branding:\n  primary_color: \"#ffdd00\"\n", "branding.primary_color", "below the 4.5:1 WCAG AA needs"},
		{"not a colour", "branding:\n  primary_color: blue\n", "branding.primary_color", "not a colour in #rrggbb"},
		{"logo missing", "branding:\n  logo: " + filepath.Join(dir, "none.png") + "\n", "branding.logo", "cannot read the logo"},
		{"logo type", "branding:\n  logo: " + filepath.Join(dir, "logo.bmp") + "\n", "branding.logo", "must end in .png, .svg"},
		{"logo too big", "branding:\n  logo: " + big + "\n", "branding.logo", "at most 524288"},
		{"templates dir missing", "branding:\n  templates_dir: " + filepath.Join(dir, "nope") + "\n", "branding.templates_dir", "cannot read the directory"},
		{"templates dir is a file", "branding:\n  templates_dir: " + big + "\n", "branding.templates_dir", "is not a directory"},
		{"long name", "branding:\n  app_name: " + strings.Repeat("x", 61) + "\n", "branding.app_name", "at most 60"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, ps := parse(t, c.doc+secretsYAML, nil)
			found := false
			for _, p := range ps {
				if p.Key == c.key && strings.Contains(p.Message, c.msg) && p.Line == 2 {
					found = true
				}
			}
			if !found {
				t.Errorf("want %s (line 2): ...%s..., got:\n%v", c.key, c.msg, ps)
			}
		})
	}
}
