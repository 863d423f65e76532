// Package tokenhttp is the HTTP plumbing the oauth2 and oidc providers share
// around x/oauth2 token requests: a transport that records what the
// provider answered, and the translation of an x/oauth2 failure into a
// *providers.OAuthError. It lives in one place so both providers classify
// and word token-endpoint failures the same way (the refresh loop and the
// API depend on that classification), and so neither ever quotes a
// response body or echoes a secret.
package tokenhttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
)

// MaxBody bounds what is read from a provider answer.
const MaxBody = 1 << 20

// ErrBodyTooLarge is the read error of an answer longer than MaxBody. Every
// answer read through a client from NewClient is bounded this way, because
// the libraries reading them (go-oidc for discovery, JWKS and user-info)
// read whole bodies without a limit.
var ErrBodyTooLarge = errors.New("the provider's answer is larger than 1 MiB")

// Record captures the last answer to a request made with its context:
// status and content type always, the body only when the client was built
// with KeepBody. Errors use it to describe an answer that x/oauth2 or
// go-oidc rejected without quoting it.
type Record struct {
	Status      int
	ContentType string
	Body        []byte
}

type recordKey struct{}

// WithRecord returns ctx carrying client for x/oauth2 and go-oidc (both
// read it under oauth2.HTTPClient, their only way to take one) and rec for
// the recording transport.
func WithRecord(ctx context.Context, client *http.Client, rec *Record) context.Context {
	return context.WithValue(context.WithValue(ctx, recordKey{}, rec), oauth2.HTTPClient, client)
}

// Options shapes a recording client.
type Options struct {
	// FollowRedirects lets the client follow 3xx answers. Token clients
	// leave it false: a token request must never be re-sent, not even to
	// another URL.
	FollowRedirects bool
	// Headers are set on every request.
	Headers map[string]string
	// KeepBody reads the answer (at most MaxBody bytes) into Record.Body,
	// for callers that parse token-answer members themselves.
	KeepBody bool
	// Rewrite, used only with KeepBody, is given each successful (2xx)
	// body and returns the one x/oauth2 parses instead; it exists for
	// providers whose answers are not RFC 6749-shaped.
	Rewrite func(body []byte) ([]byte, error)
	// JSONRequest sends a form-encoded request body as a JSON object of
	// strings instead (Podio's /oauth/token/v2 takes JSON), with
	// Content-Type: application/json.
	JSONRequest bool
	// DropErrorBody hands non-2xx answers on with an empty body, for
	// go-oidc, whose discovery and JWKS errors quote the body verbatim
	// (an HTML error page would end up in logs and error messages).
	DropErrorBody bool
}

// NewClient copies base with a transport that applies o and fills the
// request context's Record.
func NewClient(base *http.Client, o Options) *http.Client {
	c := *base
	rt := c.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	c.Transport = &transport{base: rt, opts: o}
	if !o.FollowRedirects {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return &c
}

type transport struct {
	base http.RoundTripper
	opts Options
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.opts.JSONRequest {
		var err error
		if req, err = formToJSON(req); err != nil {
			return nil, err
		}
	}
	if len(t.opts.Headers) > 0 {
		req = req.Clone(req.Context())
		for k, v := range t.opts.Headers {
			req.Header.Set(k, v)
		}
	}
	resp, err := t.base.RoundTrip(req)
	if resp == nil {
		return resp, err
	}
	resp.Body = &limitedBody{rc: resp.Body, left: MaxBody}
	if t.opts.DropErrorBody && resp.StatusCode/100 != 2 {
		_ = resp.Body.Close()
		resp.Body = http.NoBody
		resp.ContentLength = 0
	}
	rec, ok := req.Context().Value(recordKey{}).(*Record)
	if !ok {
		return resp, err
	}
	rec.Status = resp.StatusCode
	rec.ContentType = resp.Header.Get("Content-Type")
	if !t.opts.KeepBody {
		return resp, err
	}
	body, rerr := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if rerr != nil {
		return nil, rerr
	}
	if resp.StatusCode/100 == 2 && t.opts.Rewrite != nil {
		if body, err = t.opts.Rewrite(body); err != nil {
			return nil, err
		}
	}
	rec.Body = body
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}

// formToJSON rewrites a form-encoded request body as a JSON object whose
// members are the form's fields (the last value of a repeated one).
func formToJSON(req *http.Request) (*http.Request, error) {
	if req.Body == nil || !strings.HasPrefix(req.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		return req, nil
	}
	raw, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		return nil, err
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		return nil, err
	}
	obj := make(map[string]string, len(form))
	for k, v := range form {
		obj[k] = v[len(v)-1]
	}
	body, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.ContentLength = int64(len(body))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	out.Header.Set("Content-Type", "application/json")
	return out, nil
}

// limitedBody fails with ErrBodyTooLarge once more than left bytes have
// been read, instead of silently truncating (a truncated document could
// still parse).
type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	if int64(n) > b.left {
		n = int(b.left)
		b.left = 0
		return n, ErrBodyTooLarge
	}
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

// Refresh sends one refresh_token grant for refreshToken to conf's token
// endpoint and returns the answer, keeping refreshToken when the answer
// has none. The x/oauth2 token source is given a token without an access
// token, which x/oauth2 never takes as valid, so it asks the endpoint at
// once instead of handing the token back. With an explicit AuthStyle it
// sends exactly one request (no auth-style probing), and a client from
// NewClient never follows a redirect; ctx carries that client
// (WithRecord).
func Refresh(ctx context.Context, conf *oauth2.Config, refreshToken string) (*oauth2.Token, error) {
	return conf.TokenSource(ctx, &oauth2.Token{RefreshToken: refreshToken}).Token()
}
