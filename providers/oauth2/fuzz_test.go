package oauth2

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzClaims runs claim paths (from config) against user-info and token
// bodies (from the provider): decoding and extraction must not panic, and
// a path CheckPath accepts extracts without panic from any document.
func FuzzClaims(f *testing.F) {
	f.Add([]byte(`{"id":12345678901234567890,"data":{"user":{"id":"u-1"}},"emails":[{"value":"a@b"}]}`),
		[]byte(`{"stripe_user_id":"acct_1"}`), "data.user.id | emails.0.value + token:stripe_user_id")
	f.Add([]byte(`[1,[2,[3]]]`), []byte(`null`), "1.1.0")
	f.Add([]byte(`{"a":{"b":null}}`), []byte(`{}`), "a.b|a.b.c|token:")
	f.Add([]byte(`{"n":-1e999}`), []byte(`"x"`), "n.-1|..|+|n")
	f.Add([]byte(`{"a":"x"} {}`), []byte(`{"a":`), "a.99999999999999999999")
	f.Add([]byte(`"\ud800"`), []byte(`true`), "token:token:x")
	f.Fuzz(func(t *testing.T, userinfo, token []byte, path string) {
		ui, uerr := DecodeJSON(userinfo)
		tok, terr := DecodeJSON(token)
		if uerr != nil && ui != nil || terr != nil && tok != nil {
			t.Fatalf("DecodeJSON returned a document with an error")
		}
		_ = CheckPath(path)
		_, _ = Lookup(ui, path)
		// Values come only from the documents, which DecodeJSON has made
		// valid UTF-8, and each is trimmed before joining.
		if got := Extract(ui, tok, path); !utf8.ValidString(got) || got != strings.TrimSpace(got) {
			t.Fatalf("Extract(%q) = %q", path, got)
		}
	})
}
