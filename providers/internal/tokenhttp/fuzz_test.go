package tokenhttp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/oauth2"

	"github.com/sessionbridge/sessionbridge/providers"
)

// answer is a RoundTripper that replays one token endpoint answer.
type answer struct {
	status    int
	ct, retry string
	body      []byte
}

func (a answer) RoundTrip(req *http.Request) (*http.Response, error) {
	h := http.Header{"Content-Type": {a.ct}, "Retry-After": {a.retry}}
	return &http.Response{StatusCode: a.status, Header: h, Body: io.NopCloser(bytes.NewReader(a.body)), Request: req}, nil
}

// FuzzError runs a code exchange against arbitrary token endpoint answers
// (status, Content-Type, Retry-After, body) and turns the failure into an
// *providers.OAuthError as the providers do: no panic, a sane error (bounded,
// printable, valid UTF-8 code and description, no negative Retry-After),
// and neither the code nor the client secret in its message.
func FuzzError(f *testing.F) {
	const code, secret = "authorization-code-123", "client-secret-456"
	now := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Add(uint16(400), "application/json", "", []byte(`{"error":"invalid_grant","error_description":"code authorization-code-123 expired"}`))
	f.Add(uint16(429), "application/json; charset=utf-8", "30", []byte(`{"error":"slow_down"}`))
	f.Add(uint16(503), "text/html", "Wed, 21 Oct 2015 07:28:00 GMT", []byte(`<html>client-secret-456</html>`))
	f.Add(uint16(200), "application/x-www-form-urlencoded", "", []byte(`error=access_denied&error_description=no+%00client-secret-456`))
	f.Add(uint16(200), "text/plain", "", []byte(`access_token=a&expires_in=60`))
	f.Add(uint16(200), "application/json", "", []byte(`{"access_token":"a","expires_in":"1e99999"}`))
	f.Add(uint16(200), "application/json", "-5", []byte(`{"error":"\u0000\ud800","error_description":"`+strings.Repeat("é", 400)+`"}`))
	f.Add(uint16(500), "", "9223372037", []byte{})
	// Regression: Clean redacted before dropping the invalid byte that
	// split the secret, which then appeared whole.
	f.Add(uint16(200), "application/x-www-form-urlencoded", "", []byte("error=cl\xdfient-secret-456"))
	f.Add(uint16(400), "application/json", "", []byte(`{"error":"x","error_description":"client-\u0001secret-456"}`))
	f.Fuzz(func(t *testing.T, status uint16, ct, retry string, body []byte) {
		client := NewClient(&http.Client{Transport: answer{200 + int(status)%400, ct, retry, body}}, Options{})
		conf := &oauth2.Config{ClientID: "client", ClientSecret: secret,
			Endpoint: oauth2.Endpoint{TokenURL: "https://issuer.example/token", AuthStyle: oauth2.AuthStyleInParams}}
		rec := &Record{}
		tok, err := conf.Exchange(WithRecord(context.Background(), client, rec), code)
		if err == nil {
			_ = ExpiresIn(tok)
			return
		}
		var oe *providers.OAuthError
		if e := Error(err, rec, now, code, secret); !errors.As(e, &oe) {
			t.Fatalf("Error = %T %v, want *providers.OAuthError", e, e)
		}
		if oe.RetryAfter < 0 {
			t.Fatalf("negative RetryAfter %v from %q", oe.RetryAfter, retry)
		}
		for _, s := range []string{oe.Code, oe.Description} {
			if !utf8.ValidString(s) || len(s) > 303 || strings.ContainsFunc(s, unicode.IsControl) {
				t.Fatalf("unsafe provider text %q", s)
			}
		}
		if msg := oe.Error(); strings.Contains(msg, code) || strings.Contains(msg, secret) {
			t.Fatalf("secret in error message %q", msg)
		}
	})
}
