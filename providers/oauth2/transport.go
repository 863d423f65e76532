package oauth2

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode"

	"golang.org/x/oauth2"

	"github.com/sessionbridge/sessionbridge/providers"
)

// maxBody bounds what is read from a provider answer.
const maxBody = 1 << 20

// responseRecord captures the last answer to a request made with its
// context: status, content type and (for token requests) the body, so the
// claims mapping can read token-answer members with exact numbers and
// errors can describe an unusable answer without quoting it.
type responseRecord struct {
	status      int
	contentType string
	body        []byte
}

type recordKey struct{}

func withRecord(ctx context.Context, client *http.Client, rec *responseRecord) context.Context {
	return context.WithValue(context.WithValue(ctx, recordKey{}, rec), oauth2.HTTPClient, client)
}

// recordingClient copies base with a transport that adds headers, fills the
// request context's responseRecord and applies rewriters to successful
// answers. Without followRedirects a 3xx is returned as is: a token
// request must never be re-sent, not even to another URL.
func recordingClient(base *http.Client, followRedirects bool, headers map[string]string, rewriters []TokenResponseHook) *http.Client {
	c := *base
	rt := c.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	c.Transport = &recordingTransport{base: rt, headers: headers, rewriters: rewriters}
	if !followRedirects {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return &c
}

type recordingTransport struct {
	base      http.RoundTripper
	headers   map[string]string
	rewriters []TokenResponseHook
}

func (t *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if len(t.headers) > 0 {
		req = req.Clone(req.Context())
		for k, v := range t.headers {
			req.Header.Set(k, v)
		}
	}
	resp, err := t.base.RoundTrip(req)
	rec, ok := req.Context().Value(recordKey{}).(*responseRecord)
	if !ok || resp == nil {
		return resp, err
	}
	rec.status = resp.StatusCode
	rec.contentType = resp.Header.Get("Content-Type")
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	_ = resp.Body.Close()
	if rerr != nil {
		return nil, rerr
	}
	if resp.StatusCode/100 == 2 {
		for _, rw := range t.rewriters {
			if body, err = rw.RewriteTokenResponse(body); err != nil {
				return nil, err
			}
		}
	}
	rec.body = body
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}

// tokenRewriters collects the TokenResponseHook hooks.
func (p *Provider) tokenRewriters() []TokenResponseHook {
	var out []TokenResponseHook
	for _, h := range p.cfg.Hooks {
		if rw, ok := h.(TokenResponseHook); ok {
			out = append(out, rw)
		}
	}
	return out
}

// tokenError turns an x/oauth2 failure into an *providers.OAuthError that
// never quotes the response body; secrets are removed from the provider's
// description in case it echoes them.
func (p *Provider) tokenError(err error, rec *responseRecord, secrets ...string) error {
	secrets = append(secrets, p.cfg.ClientSecret)
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		oe := &providers.OAuthError{
			Code:        clean(re.ErrorCode, secrets),
			Description: clean(re.ErrorDescription, secrets),
			HTTPStatus:  rec.status,
		}
		ct := rec.contentType
		if re.Response != nil {
			oe.HTTPStatus = re.Response.StatusCode
			oe.RetryAfter = providers.ParseRetryAfter(re.Response.Header.Get("Retry-After"), p.now())
			ct = re.Response.Header.Get("Content-Type")
		}
		if oe.Code == "" {
			if !parsableBody(ct) {
				oe.Err = nonJSONError(ct)
			} else {
				oe.Err = fmt.Errorf("provider answered HTTP %d without an error code", oe.HTTPStatus)
			}
		}
		return oe
	}
	if rec.status != 0 {
		oe := &providers.OAuthError{HTTPStatus: rec.status}
		if !parsableBody(rec.contentType) {
			oe.Err = nonJSONError(rec.contentType)
		} else {
			oe.Err = errors.New("unusable token response (no access_token, or a malformed body)")
		}
		return oe
	}
	var oe *providers.OAuthError
	if errors.As(err, &oe) {
		return oe
	}
	// No answer: network failure, timeout or cancellation.
	return &providers.OAuthError{Err: err}
}

func nonJSONError(contentType string) error {
	return fmt.Errorf("provider answered with a non-JSON body (content-type %q)", contentType)
}

// parsableBody reports whether a token answer of this content type can be
// parsed (JSON, or the form encoding some providers use).
func parsableBody(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json") ||
		mt == "application/x-www-form-urlencoded" || mt == "text/plain" || mt == "text/javascript"
}

// minSecretLen is the shortest value clean redacts.
const minSecretLen = 8

// clean makes a provider-supplied string safe to show and log.
func clean(s string, secrets []string) string {
	for _, sec := range secrets {
		if len(sec) >= minSecretLen {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	const maxLen = 300
	if len(s) > maxLen {
		s = strings.ToValidUTF8(s[:maxLen], "") + "..."
	}
	return s
}
