package templates

import (
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/sessionbridge/sessionbridge/internal/contrast"
)

// cssRule is one rule of the stylesheet: its selector, its declarations
// and the @media condition it sits in ("" at the top level).
type cssRule struct {
	media, selector string
	decls           map[string]string
}

var cssComment = regexp.MustCompile(`(?s)/\*.*?\*/`)

// parseCSS reads the flat stylesheet the pages use: rules, and @media
// blocks holding rules (no deeper nesting).
func parseCSS(t *testing.T, src string) []cssRule {
	t.Helper()
	src = cssComment.ReplaceAllString(src, "")
	var rules []cssRule
	var parse func(s, media string)
	parse = func(s, media string) {
		for {
			open := strings.IndexByte(s, '{')
			if open < 0 {
				if strings.TrimSpace(s) != "" {
					t.Fatalf("stylesheet: stray text %q", strings.TrimSpace(s))
				}
				return
			}
			head := strings.TrimSpace(s[:open])
			if strings.HasPrefix(head, "@media") {
				depth, end := 0, -1
				for i := open; i < len(s); i++ {
					if s[i] == '{' {
						depth++
					} else if s[i] == '}' {
						if depth--; depth == 0 {
							end = i
							break
						}
					}
				}
				if end < 0 {
					t.Fatalf("stylesheet: unclosed %s", head)
				}
				parse(s[open+1:end], head)
				s = s[end+1:]
				continue
			}
			close := strings.IndexByte(s[open:], '}')
			if close < 0 {
				t.Fatalf("stylesheet: unclosed rule %s", head)
			}
			body := s[open+1 : open+close]
			decls := map[string]string{}
			for _, d := range strings.Split(body, ";") {
				if k, v, ok := strings.Cut(d, ":"); ok {
					decls[strings.TrimSpace(k)] = strings.TrimSpace(v)
				}
			}
			rules = append(rules, cssRule{media: media, selector: head, decls: decls})
			s = s[open+close+1:]
		}
	}
	parse(src, "")
	return rules
}

// schemes resolves the custom properties of :root for the light scheme and
// for the dark one (light overridden by prefers-color-scheme: dark).
func schemes(rules []cssRule) map[string]map[string]string {
	light, dark := map[string]string{}, map[string]string{}
	for _, r := range rules {
		if r.selector != ":root" {
			continue
		}
		for k, v := range r.decls {
			if !strings.HasPrefix(k, "--") {
				continue
			}
			switch {
			case r.media == "":
				light[k] = v
				if _, set := dark[k]; !set {
					dark[k] = v
				}
			case strings.Contains(r.media, "prefers-color-scheme: dark"):
				dark[k] = v
			}
		}
	}
	for k, v := range light {
		if _, ok := dark[k]; !ok {
			dark[k] = v
		}
	}
	return map[string]map[string]string{"light": light, "dark": dark}
}

var cssVar = regexp.MustCompile(`^var\((--[a-z0-9-]+)\)$`)

// resolve turns a colour value into a colour in one scheme.
func resolve(value string, vars map[string]string) (contrast.RGB, error) {
	for i := 0; i < 5; i++ {
		m := cssVar.FindStringSubmatch(value)
		if m == nil {
			break
		}
		v, ok := vars[m[1]]
		if !ok {
			return contrast.RGB{}, fmt.Errorf("%s is not defined", m[1])
		}
		value = v
	}
	return contrast.Parse(value)
}

// TestStylesheetContrast computes the contrast of every text colour of
// style.css against its background, in the light and the dark scheme, and
// fails below WCAG AA's 4.5:1. A rule that sets a colour but no background
// must be readable on every surface text sits on (the page and the cards).
func TestStylesheetContrast(t *testing.T) {
	css, err := fs.ReadFile(Assets(), "style.css")
	if err != nil {
		t.Fatal(err)
	}
	rules := parseCSS(t, string(css))
	surfaces := []string{"var(--bg)", "var(--surface)"}
	checked := 0
	names := []string{"light", "dark"}
	sort.Strings(names)
	for _, scheme := range names {
		vars := schemes(rules)[scheme]
		for _, r := range rules {
			fg, ok := r.decls["color"]
			if !ok || r.selector == ":root" {
				continue
			}
			bgs := surfaces
			if bg, ok := r.decls["background"]; ok {
				bgs = []string{bg}
			} else if bg, ok := r.decls["background-color"]; ok {
				bgs = []string{bg}
			}
			fc, err := resolve(fg, vars)
			if err != nil {
				t.Errorf("%s (%s): color %s: %v", r.selector, scheme, fg, err)
				continue
			}
			for _, bg := range bgs {
				bc, err := resolve(bg, vars)
				if err != nil {
					t.Errorf("%s (%s): background %s: %v", r.selector, scheme, bg, err)
					continue
				}
				checked++
				if ratio := contrast.Ratio(fc, bc); ratio < contrast.MinText {
					t.Errorf("%s in the %s scheme: %s on %s (%s on %s) has contrast %.2f:1, want >= %.1f:1",
						r.selector, scheme, fg, bg, fc.Hex(), bc.Hex(), ratio, contrast.MinText)
				}
			}
		}
	}
	if checked < 40 {
		t.Fatalf("only %d colour pairs checked: is the stylesheet parsed?", checked)
	}
	t.Logf("%d text/background pairs checked in both schemes", checked)
}

// TestStylesheetUsesOnlyProperties keeps every colour in the custom
// properties, so the contrast test above sees all of them.
func TestStylesheetUsesOnlyProperties(t *testing.T) {
	css, err := fs.ReadFile(Assets(), "style.css")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range parseCSS(t, string(css)) {
		if r.selector == ":root" {
			continue
		}
		for _, k := range []string{"color", "background", "background-color"} {
			if v, ok := r.decls[k]; ok && !cssVar.MatchString(v) {
				t.Errorf("%s sets %s: %s; use a custom property defined for both schemes", r.selector, k, v)
			}
		}
	}
}

var placeholder = regexp.MustCompile(`\{[a-z]+\}`)

// TestLocalesComplete checks every shipped language has exactly the
// default language's keys, with the same placeholders.
func TestLocalesComplete(t *testing.T) {
	all, err := Catalogs()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 2 {
		t.Fatalf("only %d language(s) shipped", len(all))
	}
	en := all[DefaultLanguage]
	for lang, cat := range all {
		for k, v := range en {
			tr, ok := cat[k]
			if !ok || strings.TrimSpace(tr) == "" {
				t.Errorf("%s: %s is missing", lang, k)
				continue
			}
			want, got := placeholder.FindAllString(v, -1), placeholder.FindAllString(tr, -1)
			sort.Strings(want)
			sort.Strings(got)
			if strings.Join(want, ",") != strings.Join(got, ",") {
				t.Errorf("%s: %s has placeholders %v, want %v", lang, k, got, want)
			}
		}
		for k := range cat {
			if _, ok := en[k]; !ok {
				t.Errorf("%s: %s is not a key of %s", lang, k, DefaultLanguage)
			}
		}
	}
}

func TestTranslate(t *testing.T) {
	cat := map[string]string{"hi": "Hello {name}, {name}!"}
	if got := Translate(cat, "hi", "name", "Ada"); got != "Hello Ada, Ada!" {
		t.Errorf("Translate = %q", got)
	}
	if got := Translate(cat, "nope"); got != "[missing: nope]" {
		t.Errorf("missing key = %q", got)
	}
}
