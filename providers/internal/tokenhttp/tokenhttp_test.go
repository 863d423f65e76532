package tokenhttp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/sessionbridge/sessionbridge/providers"
)

func TestClientRecordsRewritesAndDoesNotRedirect(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/redirect":
			http.Redirect(w, r, "/ok", http.StatusFound)
		case "/fail":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":"x"}`)
		default:
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"h":"`+r.Header.Get("X-Extra")+`"}`)
		}
	}))
	defer srv.Close()
	upper := func(b []byte) ([]byte, error) { return bytes.ToUpper(b), nil }
	c := NewClient(srv.Client(), Options{Headers: map[string]string{"X-Extra": "v"}, KeepBody: true, Rewrite: upper})

	get := func(path string) (*Record, int, string) {
		t.Helper()
		rec := &Record{}
		req, _ := http.NewRequestWithContext(WithRecord(context.Background(), c, rec), http.MethodGet, srv.URL+path, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		return rec, resp.StatusCode, string(b)
	}
	rec, status, body := get("/ok")
	if status != 200 || body != `{"H":"V"}` || string(rec.Body) != body || rec.Status != 200 || rec.ContentType != "application/json" {
		t.Fatalf("ok: status %d body %q record %+v", status, body, rec)
	}
	if rec, _, body = get("/fail"); body != `{"error":"x"}` || rec.Status != 400 {
		t.Fatalf("a failed answer must not be rewritten: body %q record %+v", body, rec)
	}
	if rec, status, _ = get("/redirect"); status != http.StatusFound || rec.Status != http.StatusFound {
		t.Fatalf("redirect followed: status %d record %+v", status, rec)
	}

	plain := NewClient(srv.Client(), Options{FollowRedirects: true})
	rec = &Record{}
	req, _ := http.NewRequestWithContext(WithRecord(context.Background(), plain, rec), http.MethodGet, srv.URL+"/redirect", nil)
	resp, err := plain.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 200 || rec.Status != 200 || rec.Body != nil {
		t.Fatalf("plain client: status %d record %+v", resp.StatusCode, rec)
	}
}

func TestError(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	const secret = "very-secret-code"
	answer := func(status int, ct, retry string) *http.Response {
		h := http.Header{"Content-Type": {ct}}
		if retry != "" {
			h.Set("Retry-After", retry)
		}
		return &http.Response{StatusCode: status, Header: h}
	}
	cause := errors.New("dial failed")
	cases := []struct {
		name       string
		err        error
		rec        Record
		code, desc string
		status     int
		retry      time.Duration
		mentions   string
		is         error
	}{
		{name: "rfc 6749 error", err: &oauth2.RetrieveError{Response: answer(400, "application/json", ""), ErrorCode: "invalid_grant", ErrorDescription: "code " + secret + " expired\n"},
			code: "invalid_grant", desc: "code [redacted] expired", status: 400},
		{name: "no code", err: &oauth2.RetrieveError{Response: answer(429, "application/json", "3")},
			status: 429, retry: 3 * time.Second, mentions: "without an error code"},
		{name: "html", err: &oauth2.RetrieveError{Response: answer(502, "text/html", "")},
			status: 502, mentions: `non-JSON body (content-type "text/html")`},
		{name: "unusable", err: errors.New("oauth2: server response missing access_token"), rec: Record{Status: 200, ContentType: "application/json"},
			status: 200, mentions: "unusable token response"},
		{name: "unusable html", err: errors.New("oauth2: cannot parse json"), rec: Record{Status: 200, ContentType: "text/html"},
			status: 200, mentions: "non-JSON body"},
		{name: "no answer", err: cause, is: cause},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := c.rec
			var oe *providers.OAuthError
			if err := Error(c.err, &rec, now, secret); !errors.As(err, &oe) {
				t.Fatalf("got %T %v, want *providers.OAuthError", err, err)
			}
			if oe.Code != c.code || oe.Description != c.desc || oe.HTTPStatus != c.status || oe.RetryAfter != c.retry {
				t.Fatalf("got %+v", oe)
			}
			if c.mentions != "" && (oe.Err == nil || !strings.Contains(oe.Err.Error(), c.mentions)) {
				t.Fatalf("cause %v does not mention %q", oe.Err, c.mentions)
			}
			if c.is != nil && !errors.Is(oe, c.is) {
				t.Fatalf("%v does not wrap %v", oe, c.is)
			}
		})
	}
}

func TestExpiresIn(t *testing.T) {
	tok := &oauth2.Token{ExpiresIn: 60}
	if got := ExpiresIn(tok); got != 60 {
		t.Fatalf("ExpiresIn = %d, want 60", got)
	}
	form := (&oauth2.Token{}).WithExtra(map[string]any{"expires_in": "90"})
	if got := ExpiresIn(form); got != 90 {
		t.Fatalf("form ExpiresIn = %d, want 90", got)
	}
	if got := ExpiresIn(&oauth2.Token{}); got != 0 {
		t.Fatalf("absent ExpiresIn = %d, want 0", got)
	}
}

func TestNoRefreshTokenIsPermanent(t *testing.T) {
	err := NoRefreshToken()
	if !errors.Is(err, ErrNoRefreshToken) || !providers.IsPermanent(err) {
		t.Fatalf("NoRefreshToken() = %v: want a permanent error wrapping ErrNoRefreshToken", err)
	}
}

func TestClientBoundsEveryAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := MaxBody
		if r.URL.Path == "/huge" {
			n = MaxBody + 1
		}
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/error" {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, "<html>internal details</html>")
			return
		}
		_, _ = io.WriteString(w, strings.Repeat(" ", n))
	}))
	defer srv.Close()
	for _, o := range []Options{{FollowRedirects: true}, {KeepBody: true}} {
		c := NewClient(srv.Client(), o)
		read := func(path string) error {
			t.Helper()
			resp, err := c.Get(srv.URL + path)
			if err != nil {
				return err
			}
			defer func() { _ = resp.Body.Close() }()
			_, err = io.ReadAll(resp.Body)
			return err
		}
		if err := read("/max"); err != nil {
			t.Fatalf("%+v: an answer of exactly MaxBody bytes: %v", o, err)
		}
		if err := read("/huge"); !errors.Is(err, ErrBodyTooLarge) {
			t.Fatalf("%+v: an answer over MaxBody: err = %v, want ErrBodyTooLarge", o, err)
		}
	}

	quiet := NewClient(srv.Client(), Options{FollowRedirects: true, DropErrorBody: true})
	resp, err := quiet.Get(srv.URL + "/error")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || len(b) != 0 {
		t.Fatalf("DropErrorBody: status %d body %q", resp.StatusCode, b)
	}
}
