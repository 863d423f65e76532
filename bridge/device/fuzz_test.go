package device

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse feeds arbitrary User-Agent headers to the parser: every field
// must be valid UTF-8 and at most MaxFieldLength bytes, since fields are
// stored with the session. It calls the unexported parse as well, because
// Parse recovers from panics and would hide them from the fuzzer.
func FuzzParse(f *testing.F) {
	p := newTestParser(f)
	for _, tc := range parseCases {
		f.Add(tc.ua)
	}
	f.Add("\xff\xfe\xfd Android \xc3\x28 Chrome/\xff")
	f.Add("Mozilla/5.0 (Linux; Android 13; SM-\x00S918B)")
	f.Add(strings.Repeat("(compatible;", 100))
	// Regressions: versions and models were copied unbounded and with the
	// UA's invalid UTF-8.
	f.Add("Appwrite/" + strings.Repeat("9", 300) + " Terminal")
	f.Add("Appwrite/\xff Terminal")
	f.Add("Mozilla/5.0 (Linux; Android 13; Pixel\xff 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36")
	f.Add("Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/1" + strings.Repeat(".0", 200) + " Safari/537.36")
	f.Fuzz(func(t *testing.T, ua string) {
		if len(ua) <= MaxUserAgentLength {
			_ = p.parse(ua)
		}
		info := p.Parse(ua)
		v := reflect.ValueOf(info)
		for i := range v.NumField() {
			s := v.Field(i).String()
			if !utf8.ValidString(s) || len(s) > MaxFieldLength {
				t.Fatalf("Parse(%q).%s = %q: invalid UTF-8 or longer than %d bytes", ua, v.Type().Field(i).Name, s, MaxFieldLength)
			}
		}
	})
}
