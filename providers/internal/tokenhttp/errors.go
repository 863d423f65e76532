package tokenhttp

import (
	"errors"
	"fmt"
	"mime"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/oauth2"

	"github.com/sessionbridge/sessionbridge/providers"
)

// ErrNoRefreshToken is the cause when Refresh is called without a token.
var ErrNoRefreshToken = errors.New("no refresh token to send")

// NoRefreshToken is the error Refresh returns, before sending anything,
// when it has no refresh token: permanent, since no retry can succeed.
func NoRefreshToken() error {
	return &providers.OAuthError{Code: "invalid_request", Description: "no refresh token", Err: ErrNoRefreshToken}
}

// Error turns an x/oauth2 failure of a token request into an
// *providers.OAuthError that never quotes the response body: a body that
// is not an RFC 6749 error object is only described. secrets (the code,
// the refresh token, the client secret, ...) are removed from the
// provider's description in case it echoes them. now dates Retry-After.
func Error(err error, rec *Record, now time.Time, secrets ...string) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		oe := &providers.OAuthError{
			Code:        Clean(re.ErrorCode, secrets),
			Description: Clean(re.ErrorDescription, secrets),
			HTTPStatus:  rec.Status,
		}
		ct := rec.ContentType
		if re.Response != nil {
			oe.HTTPStatus = re.Response.StatusCode
			oe.RetryAfter = providers.ParseRetryAfter(re.Response.Header.Get("Retry-After"), now)
			ct = re.Response.Header.Get("Content-Type")
		}
		if oe.Code == "" {
			if !parsableBody(ct) {
				oe.Err = NonJSONError(ct)
			} else {
				oe.Err = fmt.Errorf("provider answered HTTP %d without an error code", oe.HTTPStatus)
			}
		}
		return oe
	}
	if rec.Status != 0 {
		// An answer arrived that x/oauth2 could not use (an unparsable
		// body, or no access_token). Its messages name the problem
		// without quoting the body.
		oe := &providers.OAuthError{HTTPStatus: rec.Status}
		if !parsableBody(rec.ContentType) {
			oe.Err = NonJSONError(rec.ContentType)
		} else {
			oe.Err = fmt.Errorf("unusable token response: %w", err)
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

// NonJSONError describes an answer whose body cannot be a JSON document.
func NonJSONError(contentType string) error {
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

// minSecretLen is the shortest value Clean redacts: shorter values are not
// real secrets (codes, verifiers and refresh tokens are long), and
// redacting them would mangle the text.
const minSecretLen = 8

// Clean makes a provider-supplied string safe to show and log: secrets are
// redacted, control characters dropped, the length bounded.
func Clean(s string, secrets []string) string {
	// Redact both before and after dropping invalid UTF-8 and control
	// characters: dropping them can join the halves of a split secret.
	s = redact(s, secrets)
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	s = redact(s, secrets)
	const maxLen = 300
	if len(s) > maxLen {
		s = strings.ToValidUTF8(s[:maxLen], "") + "..."
	}
	return s
}

func redact(s string, secrets []string) string {
	for _, sec := range secrets {
		if len(sec) >= minSecretLen {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return s
}

// ExpiresIn is the token answer's expires_in in seconds, 0 when absent.
// x/oauth2 fills Token.ExpiresIn only for JSON answers; for a form-encoded
// one it used the wall clock for Expiry and left the raw value in Extra,
// which is read here so the caller can apply its own (injected) clock.
func ExpiresIn(tok *oauth2.Token) int64 {
	if tok.ExpiresIn != 0 {
		return tok.ExpiresIn
	}
	switch v := tok.Extra("expires_in").(type) {
	case int64:
		return v
	case float64:
		return int64(v)
	case string:
		secs, _ := strconv.ParseInt(v, 10, 64)
		return secs
	}
	return 0
}

// Alias renames a provider's own error code for a dead grant to the
// RFC 6749 one (GitHub's bad_refresh_token and Slack's
// invalid_refresh_token are invalid_grant), so the refresher classifies
// it: a 200 answer carrying such a code is no longer taken as transient.
// The provider's code stays in the description.
func Alias(err error, aliases map[string]string) error {
	var oe *providers.OAuthError
	if len(aliases) == 0 || !errors.As(err, &oe) {
		return err
	}
	if to, ok := aliases[oe.Code]; ok && to != "" {
		desc := "the provider answered " + oe.Code
		if oe.Description != "" {
			desc += ": " + oe.Description
		}
		oe.Code, oe.Description = to, desc
	}
	return err
}
