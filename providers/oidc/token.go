package oidc

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sessionbridge/sessionbridge/providers"
)

// errNoRefreshToken is the cause when Refresh is called without a token.
var errNoRefreshToken = errors.New("no refresh token to send")

// Exchange checks the callback's RFC 9207 iss before anything is sent,
// redeems the code (one token request, with the PKCE verifier), verifies
// the ID token and the user-info sub, and returns the tokens and identity.
func (p *Provider) Exchange(ctx context.Context, cb providers.Callback, req providers.AuthRequest) (*providers.Login, error) {
	m, err := p.metadataOrUnavailable()
	if err != nil {
		return nil, err
	}
	if err := p.checkCallbackIss(m, cb); err != nil {
		return nil, err
	}
	if cb.Code == "" {
		return nil, &providers.VerificationError{Check: "code", Err: errors.New("the callback carries no authorization code")}
	}
	if req.Nonce == "" {
		return nil, &providers.VerificationError{Check: "nonce", Err: errors.New("the login has no nonce to compare")}
	}
	if p.pkce && req.CodeVerifier == "" {
		return nil, errors.New("oidc: PKCE is enabled but the login has no code verifier")
	}

	scopes := p.loginScopes(req.Scopes)
	conf := p.oauth2Config(m, req.RedirectURL, scopes)
	var opts []oauth2.AuthCodeOption
	if p.pkce {
		opts = append(opts, oauth2.VerifierOption(req.CodeVerifier))
	}
	rec := &responseRecord{}
	tok, err := conf.Exchange(p.withClient(ctx, p.tokenClient, rec), cb.Code, opts...)
	if err != nil {
		return nil, p.tokenError(err, rec, cb.Code, req.CodeVerifier)
	}

	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		return nil, &providers.VerificationError{Check: "id_token", Err: errors.New("the token response has no id_token")}
	}
	c, err := p.verifyIDToken(ctx, m, rawID, tok.AccessToken)
	if err != nil {
		return nil, err
	}
	if !equalSecret(c.nonce, req.Nonce) {
		return nil, &providers.VerificationError{Check: "nonce", Err: errors.New("the ID token's nonce does not match the login's")}
	}
	ident := c.identity()
	if m.userinfoURL != "" {
		ui, err := p.userinfo(ctx, m, tok.AccessToken, c.sub)
		if err != nil {
			return nil, err
		}
		ident = mergeUserinfo(ident, ui)
	}
	return &providers.Login{Token: p.token(tok, rawID, scopes), Identity: ident}, nil
}

// checkCallbackIss applies RFC 9207 with an exact string comparison: a
// callback naming another issuer is a mix-up attack, and a missing iss is
// suspicious when the provider says it always sends one.
func (p *Provider) checkCallbackIss(m *metadata, cb providers.Callback) error {
	if cb.HasIss {
		if cb.Iss != p.issuer {
			return &providers.VerificationError{Check: "iss", Err: fmt.Errorf("callback iss %q is not the issuer %q", cb.Iss, p.issuer)}
		}
		return nil
	}
	if m.issParam {
		return &providers.VerificationError{Check: "iss", Err: errors.New("callback has no iss parameter although the provider advertises it")}
	}
	return nil
}

// Refresh sends one refresh_token grant. When the answer has no new refresh
// token, the returned Token carries the one that was sent. An ID token in
// the answer is verified like a login's, without the nonce, and must name
// req.Subject.
func (p *Provider) Refresh(ctx context.Context, req providers.RefreshRequest) (*providers.Token, error) {
	m, err := p.metadataOrUnavailable()
	if err != nil {
		return nil, err
	}
	if req.RefreshToken == "" {
		return nil, &providers.OAuthError{Code: "invalid_request", Description: "no refresh token", Err: errNoRefreshToken}
	}
	conf := p.oauth2Config(m, "", nil)
	rec := &responseRecord{}
	// An expired token without an access token makes the TokenSource
	// refresh immediately; with an explicit AuthStyle x/oauth2 sends
	// exactly one request, and the token client never follows redirects.
	src := conf.TokenSource(p.withClient(ctx, p.tokenClient, rec), &oauth2.Token{
		RefreshToken: req.RefreshToken,
		Expiry:       time.Unix(1, 0),
	})
	tok, err := src.Token()
	if err != nil {
		return nil, p.tokenError(err, rec, req.RefreshToken)
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID != "" {
		c, err := p.verifyIDToken(ctx, m, rawID, tok.AccessToken)
		if err != nil {
			return nil, err
		}
		if req.Subject != "" && c.sub != req.Subject {
			return nil, &providers.VerificationError{Check: "sub", Err: errors.New("the refreshed ID token names another subject")}
		}
	}
	t := p.token(tok, rawID, nil)
	return &t, nil
}

// token converts an x/oauth2 token. Expiry is computed from expires_in with
// the injected clock; it stays zero when the provider sent none. Scopes are
// the granted ones when the answer lists them, else the requested ones.
func (p *Provider) token(tok *oauth2.Token, rawID string, requested []string) providers.Token {
	t := providers.Token{
		AccessToken:  tok.AccessToken,
		RefreshToken: tok.RefreshToken,
		IDToken:      rawID,
		Scopes:       requested,
	}
	secs := tok.ExpiresIn
	if secs == 0 && !tok.Expiry.IsZero() {
		// A form-encoded answer: x/oauth2 used the wall clock and left
		// ExpiresIn unset; read the raw value instead.
		switch v := tok.Extra("expires_in").(type) {
		case int64:
			secs = v
		case float64:
			secs = int64(v)
		case string:
			secs, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	if secs > 0 {
		t.Expiry = p.now().Add(time.Duration(secs) * time.Second)
	}
	if s, ok := tok.Extra("scope").(string); ok && strings.TrimSpace(s) != "" {
		t.Scopes = strings.Fields(s)
	}
	return t
}

// tokenError turns an x/oauth2 failure into an *providers.OAuthError that
// never quotes the response body: a body that is not an RFC 6749 error
// object is only described. secrets (the code, the refresh token, ...) are
// removed from the provider's description in case it echoes them.
func (p *Provider) tokenError(err error, rec *responseRecord, secrets ...string) error {
	secrets = append(secrets, p.clientSecret)
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
			if !parsableTokenBody(ct) {
				oe.Err = nonJSONError(ct)
			} else {
				oe.Err = fmt.Errorf("provider answered HTTP %d without an error code", oe.HTTPStatus)
			}
		}
		return oe
	}
	if rec.status != 0 {
		// An answer arrived that x/oauth2 could not use (an unparsable
		// body, or no access_token). Its messages name the problem
		// without quoting the body.
		oe := &providers.OAuthError{HTTPStatus: rec.status}
		if !parsableTokenBody(rec.contentType) {
			oe.Err = nonJSONError(rec.contentType)
		} else {
			oe.Err = fmt.Errorf("unusable token response: %w", err)
		}
		return oe
	}
	// No answer: network failure, timeout or cancellation.
	return &providers.OAuthError{Err: err}
}

func nonJSONError(contentType string) error {
	return fmt.Errorf("provider answered with a non-JSON body (content-type %q)", contentType)
}

// parsableTokenBody reports whether x/oauth2 parses a token answer of this
// content type (JSON, or the form encoding some providers use).
func parsableTokenBody(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case mt == "application/json", strings.HasSuffix(mt, "+json"),
		mt == "application/x-www-form-urlencoded", mt == "text/plain":
		return true
	}
	return false
}

// minSecretLen is the shortest value clean redacts.
const minSecretLen = 8

// clean makes a provider-supplied string safe to show and log: secrets are
// redacted, control characters dropped, the length bounded.
func clean(s string, secrets []string) string {
	for _, sec := range secrets {
		// Short values are not real secrets (codes, verifiers and refresh
		// tokens are long); redacting them would mangle the text.
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

// responseRecord captures the status and content type of the last answer
// to a request made with its context, so errors can describe an answer
// that x/oauth2 or go-oidc rejected without quoting its body.
type responseRecord struct {
	status      int
	contentType string
}

type recordKey struct{}

// withClient returns ctx carrying client for x/oauth2 and go-oidc (their
// only way to take one) and rec for the recording transport.
func (p *Provider) withClient(ctx context.Context, client *http.Client, rec *responseRecord) context.Context {
	return gooidc.ClientContext(context.WithValue(ctx, recordKey{}, rec), client)
}

// recordingClient copies base with a transport that fills the request
// context's responseRecord. Without followRedirects a 3xx is returned as
// is: a token request must never be re-sent, not even to another URL.
func recordingClient(base *http.Client, followRedirects bool) *http.Client {
	c := *base
	rt := c.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	c.Transport = &recordingTransport{base: rt}
	if !followRedirects {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return &c
}

type recordingTransport struct{ base http.RoundTripper }

func (t *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if rec, ok := req.Context().Value(recordKey{}).(*responseRecord); ok && resp != nil {
		rec.status = resp.StatusCode
		rec.contentType = resp.Header.Get("Content-Type")
	}
	return resp, err
}
