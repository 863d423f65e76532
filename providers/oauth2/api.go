package oauth2

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/internal/tokenhttp"
)

// API makes authenticated requests to the provider's API with the login's
// access token: the user-info request and any a hook needs.
type API struct {
	client      *http.Client
	accessToken string
	clientID    string
	// clientSecret fills {client_secret} in header values only (Etsy's
	// x-api-key); a secret never goes into a URL.
	clientSecret string
	headers      map[string]string
	secrets      []string
}

// UserinfoError is a user-info (or other API) request that failed. It
// never quotes the answer's body.
type UserinfoError struct {
	URL        string // without query
	HTTPStatus int
	Err        error
}

func (e *UserinfoError) Error() string {
	msg := "user-info request to " + e.URL + " failed"
	if e.HTTPStatus != 0 {
		msg += fmt.Sprintf(" (HTTP %d)", e.HTTPStatus)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *UserinfoError) Unwrap() error { return e.Err }

// expand fills {access_token} and {client_id} in a URL (query-escaped) or
// header value (as is), and {client_secret} in a header value.
func (a *API) expand(s string, forURL bool) string {
	if forURL {
		return strings.NewReplacer("{access_token}", url.QueryEscape(a.accessToken),
			"{client_id}", url.QueryEscape(a.clientID)).Replace(s)
	}
	return strings.NewReplacer("{access_token}", a.accessToken, "{client_id}", a.clientID,
		"{client_secret}", a.clientSecret).Replace(s)
}

// httpClient is a.client, made to drop the configured headers on a
// redirect to another host or scheme: they may carry the client secret
// (Etsy's x-api-key), and Go forwards custom headers across hosts (it
// drops only Authorization and cookies).
func (a *API) httpClient(origin *url.URL) *http.Client {
	if len(a.headers) == 0 {
		return a.client
	}
	c := *a.client
	next := c.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if next != nil {
			if err := next(req, via); err != nil {
				return err
			}
		} else if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		if req.URL.Host != origin.Host || req.URL.Scheme != origin.Scheme {
			for name := range a.headers {
				req.Header.Del(name)
			}
		}
		return nil
	}
	return &c
}

// Get sends GET rawURL and decodes the JSON answer.
func (a *API) Get(ctx context.Context, rawURL string) (any, error) {
	return a.Do(ctx, http.MethodGet, rawURL, nil)
}

// Do sends one request with the access token (Authorization: Bearer unless
// the configured headers set Authorization) and decodes the JSON answer
// with exact numbers. A non-2xx status or a body that is not JSON is an
// *UserinfoError.
func (a *API) Do(ctx context.Context, method, rawURL string, body io.Reader) (any, error) {
	target := a.expand(rawURL, true)
	display := rawURL
	if i := strings.IndexByte(display, '?'); i >= 0 {
		display = display[:i]
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, &UserinfoError{URL: display, Err: errors.New("invalid request URL")}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+a.accessToken)
	for k, v := range a.headers {
		req.Header.Set(k, a.expand(v, false))
	}
	resp, err := a.httpClient(req.URL).Do(req)
	if err != nil {
		// url.Error quotes the URL, which may carry the token.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, &UserinfoError{URL: display, Err: errors.New(tokenhttp.Clean(err.Error(), a.secrets))}
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, tokenhttp.MaxBody))
	if err != nil {
		return nil, &UserinfoError{URL: display, HTTPStatus: resp.StatusCode, Err: errors.New("reading the answer failed")}
	}
	ct := resp.Header.Get("Content-Type")
	if resp.StatusCode/100 != 2 {
		ue := &UserinfoError{URL: display, HTTPStatus: resp.StatusCode}
		if doc, derr := DecodeJSON(data); derr == nil {
			if code := Extract(doc, nil, "error"); code != "" && !strings.Contains(code, " ") {
				ue.Err = fmt.Errorf("provider error %q", tokenhttp.Clean(code, a.secrets))
			}
		}
		return nil, ue
	}
	mt, _, _ := mime.ParseMediaType(ct)
	if mt == "text/html" {
		return nil, &UserinfoError{URL: display, HTTPStatus: resp.StatusCode, Err: tokenhttp.NonJSONError(ct)}
	}
	doc, err := DecodeJSON(data)
	if err != nil {
		return nil, &UserinfoError{URL: display, HTTPStatus: resp.StatusCode, Err: tokenhttp.NonJSONError(ct)}
	}
	return doc, nil
}

// asVerification wraps a user-info failure so the bridge shows a clear
// provider error; it is not retried.
func asVerification(check string, err error) error {
	var ve *providers.VerificationError
	var ue *providers.UnavailableError
	if errors.As(err, &ve) || errors.As(err, &ue) {
		return err // already classified; an outage stays transient
	}
	return &providers.VerificationError{Check: check, Err: err}
}
