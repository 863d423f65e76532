package keyset

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

type answer struct {
	status int
	body   string
	err    error
}

func (a answer) RoundTrip(*http.Request) (*http.Response, error) {
	if a.err != nil {
		return nil, a.err
	}
	return &http.Response{StatusCode: a.status, Body: io.NopCloser(strings.NewReader(a.body))}, nil
}

// The watch calls a fetch failed when there is no answer, the status is
// not 200, or the body is no key set, and hands the body on unchanged.
func TestFetchWatchClassifies(t *testing.T) {
	for name, tc := range map[string]struct {
		a      answer
		failed bool
	}{
		"key set":         {answer{status: 200, body: `{"keys":[]}`}, false},
		"maintenance 200": {answer{status: 200, body: "<html>down</html>"}, true},
		"keys not a list": {answer{status: 200, body: `{"keys":"x"}`}, true},
		"503":             {answer{status: 503, body: `{"keys":[]}`}, true},
		"no answer":       {answer{err: errors.New("connection refused")}, true},
	} {
		t.Run(name, func(t *testing.T) {
			w := &fetchWatch{base: tc.a}
			req, _ := http.NewRequest("GET", "https://op.example/jwks", nil)
			resp, err := w.RoundTrip(req)
			n, failed, at := w.state()
			if n != 1 || failed != tc.failed || at.IsZero() {
				t.Fatalf("state = %d %v %v, want 1 %v", n, failed, at, tc.failed)
			}
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				if string(b) != tc.a.body {
					t.Fatalf("body handed on as %q", b)
				}
			}
		})
	}
}
