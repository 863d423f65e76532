package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sessionbridge/sessionbridge/bridge"
)

// FuzzCredentialDecode feeds the session value that arrives in the cookie
// and in X-Appwrite-Session to the codec: a value decodes only to a
// credential that was encoded (it is authenticated encryption; the one
// encoded value the fuzzer sees is the seed's), and every value encode
// produces decodes to the credential it carries.
func FuzzCredentialDecode(f *testing.F) {
	codec := newCredentialCodec("a_session_default", [][]byte{make([]byte, 32)})
	seed := bridge.Credential{SessionID: "s1", Secret: "x"}
	good, err := codec.encode(seed)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good, "s1", "x")
	f.Add(good[:len(good)-1], "id", "secret")
	f.Add("", "", "")
	f.Add("MTcwMDAwMDAwMHxhYmN8ZGVm", "session-id", "\xff\xfe")
	f.Add("a|b|c", "é", "ü")
	f.Fuzz(func(t *testing.T, value, id, secret string) {
		if cred, ok := codec.decode(value); ok && cred != seed {
			t.Fatalf("forged value %q decoded to %v", value, cred)
		}
		want := bridge.Credential{SessionID: id, Secret: secret}
		enc, err := codec.encode(want)
		if err != nil {
			return // too long for the 1024-byte cap: refused, not truncated
		}
		got, ok := codec.decode(enc)
		// JSON turns invalid UTF-8 into U+FFFD, so only valid strings
		// come back byte for byte.
		if utf8.ValidString(id) && utf8.ValidString(secret) && got != want {
			t.Fatalf("round trip: got %v, want %v", got, want)
		}
		if ok != (got.SessionID != "" && got.Secret != "") {
			t.Fatalf("decode ok=%v for %v", ok, got)
		}
	})
}

// FuzzCredentialsFrom feeds arbitrary cookie and header values to the
// request credential extraction: it must not panic, must not return empty
// values, and none of what it returns may authenticate.
func FuzzCredentialsFrom(f *testing.F) {
	s, err := New(fuzzOptions(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Add("a_session_default=abc", "def", `{"a_session_default":"ghi"}`)
	f.Add("", "", `{"a_session_default":1}`)
	f.Add("a_session_default=", "", `{"a_session_default":null,"x":[1,2]}`)
	f.Add("other=1; a_session_default=\"q\"", "", `[]`)
	f.Add("", "", `{"a_session_default":"\u0000"}`)
	f.Add("", "", `{"a_session_default":"a"`)
	f.Fuzz(func(t *testing.T, cookie, session, fallback string) {
		r := httptest.NewRequest(http.MethodGet, "/v1/account", nil)
		r.Header = http.Header{"Cookie": {cookie}, "X-Appwrite-Session": {session}, "X-Fallback-Cookies": {fallback}}
		for _, v := range s.credentialsFrom(r) {
			if v == "" {
				t.Fatalf("empty credential from cookie %q session %q fallback %q", cookie, session, fallback)
			}
			if _, ok := s.codec.decode(v); ok {
				t.Fatalf("forged credential %q authenticated", v)
			}
		}
	})
}

// fuzzOptions is testOptions for a fuzz target's setup.
func fuzzOptions(f *testing.F) Options {
	return Options{Service: newFakeService(time.Now()), Project: "default", PublicURL: "http://localhost:8080",
		Allowlist: allowAll{}, SessionKeys: [][]byte{make([]byte, 32)}}
}
