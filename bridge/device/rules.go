package device

import (
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
)

// matomoPrefix reproduces how Matomo's device-detector anchors every
// regex of its YAML files: the token must start the string or follow a
// character that cannot be part of a longer token. Without it "xcurl/1"
// would be taken for curl.
const matomoPrefix = `(?i)(?:^|[^A-Z0-9_-]|[^A-Z0-9-]_|sprd-|MZ-)(?:`

// rule is one line of a Matomo-style ordered table: the first rule whose
// regex matches (and whose exclude regex, standing in for the PCRE
// negative look-arounds RE2 lacks, does not) decides the result.
type rule struct {
	re      *regexp.Regexp
	exclude *regexp.Regexp
	anyOf   []string // lower-case literals, one of which the UA must contain
	name    string   // may reference $1..$9
	version string   // may reference $1..$9
}

// mustRule compiles a rule with Matomo's prefix. The patterns are
// constants of this package, so a compile error is a programming error
// caught by the tests; New converts the panic into an error anyway.
func mustRule(pattern, name, version string) rule {
	return rule{
		re:      regexp.MustCompile(matomoPrefix + pattern + `)`),
		anyOf:   requiredLiterals(pattern),
		name:    name,
		version: version,
	}
}

// except returns r with an exclusion regex (matched case-insensitively,
// without the prefix).
func (r rule) except(pattern string) rule {
	r.exclude = regexp.MustCompile(`(?i)` + pattern)
	return r
}

// match returns the submatches of the rule against ua, or nil; lower is
// strings.ToLower(ua), used to skip rules whose literals are absent.
func (r *rule) match(ua, lower string) []string {
	if len(r.anyOf) > 0 && !containsAny(lower, r.anyOf) {
		return nil
	}
	m := r.re.FindStringSubmatch(ua)
	if m == nil {
		return nil
	}
	if r.exclude != nil && r.exclude.MatchString(ua) {
		return nil
	}
	return m
}

// expand substitutes $1..$9 in tmpl with the submatches (missing or
// unmatched groups become empty), as Matomo's buildByMatch does.
func expand(tmpl string, m []string) string {
	if !strings.Contains(tmpl, "$") {
		return tmpl
	}
	var b strings.Builder
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		if c == '$' && i+1 < len(tmpl) && tmpl[i+1] >= '1' && tmpl[i+1] <= '9' {
			n := int(tmpl[i+1] - '0')
			if n < len(m) {
				b.WriteString(m[n])
			}
			i++
			continue
		}
		b.WriteByte(c)
	}
	return strings.TrimSpace(b.String())
}

// buildVersion mirrors Matomo's buildVersion: underscores become dots and
// stray dots and spaces around the version are dropped. Matomo's default
// truncation is "none", so the full version string is kept.
func buildVersion(tmpl string, m []string) string {
	v := expand(tmpl, m)
	v = strings.ReplaceAll(v, "_", ".")
	return strings.Trim(v, " .")
}

// versionAtLeast reports whether dotted version v >= min, comparing
// numerically part by part like PHP's version_compare does for plain
// numeric versions. An empty v is lower than anything.
func versionAtLeast(v, min string) bool {
	if v == "" {
		return false
	}
	vp := strings.Split(v, ".")
	mp := strings.Split(min, ".")
	for i := 0; i < len(vp) || i < len(mp); i++ {
		a, b := -1, -1
		if i < len(vp) {
			a = leadingInt(vp[i])
		}
		if i < len(mp) {
			b = leadingInt(mp[i])
		}
		if a != b {
			return a > b
		}
	}
	return true
}

func leadingInt(s string) int {
	end := 0
	for end < len(s) && end < 9 && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(s[:end])
	if err != nil {
		return 0
	}
	return n
}

// requiredLiterals derives from a rule's pattern a set of lower-case
// literals at least one of which any match must contain. Checking them
// with strings.Contains first lets Parse skip most of the ~150 regexes:
// an unanchored, case-insensitive Go regex costs time proportional to
// program size times input length even when it cannot match, which made
// a first-sight parse take milliseconds. nil means "no usable literal".
func requiredLiterals(pattern string) []string {
	re, err := syntax.Parse(`(?i)`+pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	return required(re.Simplify())
}

func required(re *syntax.Regexp) []string {
	switch re.Op {
	case syntax.OpLiteral:
		return []string{strings.ToLower(string(re.Rune))}
	case syntax.OpCapture, syntax.OpPlus:
		return required(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return required(re.Sub[0])
		}
	case syntax.OpConcat:
		// Any one child's requirement holds for the whole; keep the
		// most selective (longest shortest literal). Adjacent literals
		// are not joined: Simplify already merges them into one.
		var best []string
		for _, sub := range re.Sub {
			if r := required(sub); r != nil && shortest(r) > shortest(best) {
				best = r
			}
		}
		return best
	case syntax.OpAlternate:
		var all []string
		for _, sub := range re.Sub {
			r := required(sub)
			if r == nil {
				return nil
			}
			all = append(all, r...)
		}
		return all
	}
	return nil
}

func shortest(lits []string) int {
	if len(lits) == 0 {
		return 0
	}
	n := len(lits[0])
	for _, l := range lits[1:] {
		n = min(n, len(l))
	}
	return n
}

func containsAny(s string, lits []string) bool {
	for _, l := range lits {
		if strings.Contains(s, l) {
			return true
		}
	}
	return false
}
