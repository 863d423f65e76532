package providers

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/oauth2"
)

// UnavailableError means the provider cannot be used right now (discovery
// failed, it is being retried). Logins fail cleanly with it.
type UnavailableError struct {
	Provider string
	Err      error
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("provider %q is unavailable: %v", e.Provider, e.Err)
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// VerificationError means the provider's answer failed a protocol check
// (ID token signature, iss, aud, nonce, sub, ...). It is never retried.
type VerificationError struct {
	Check string // short name of the failed check, e.g. "nonce", "iss"
	Err   error
}

func (e *VerificationError) Error() string {
	if e.Err == nil {
		return "verification failed: " + e.Check
	}
	return fmt.Sprintf("verification failed: %s: %v", e.Check, e.Err)
}

func (e *VerificationError) Unwrap() error { return e.Err }

// OAuthError is an error answer from a token endpoint (RFC 6749 §5.2) or a
// response that could not be used. It never contains a token: Description
// comes from the provider and is shown to the user, so providers must not
// echo secrets into it.
type OAuthError struct {
	Code        string // the OAuth "error" member; "" when the response had none
	Description string
	HTTPStatus  int           // 0 when no HTTP response arrived
	RetryAfter  time.Duration // from a Retry-After header, 0 if none
	Err         error         // the underlying cause (network error, decode error, ...)
}

func (e *OAuthError) Error() string {
	msg := "token request failed"
	if e.Code != "" {
		msg += ": " + e.Code
	}
	if e.HTTPStatus != 0 {
		msg += fmt.Sprintf(" (HTTP %d)", e.HTTPStatus)
	}
	if e.Description != "" {
		msg += ": " + e.Description
	}
	if e.Err != nil && e.Code == "" {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *OAuthError) Unwrap() error { return e.Err }

// permanentCodes are RFC 6749 §5.2 codes after which the same request can
// never succeed.
var permanentCodes = map[string]bool{
	"invalid_grant":          true,
	"invalid_client":         true,
	"unauthorized_client":    true,
	"unsupported_grant_type": true,
	"invalid_scope":          true,
	"invalid_request":        true,
}

// IsPermanent reports whether a refresh failure means the grant is dead:
// retrying the same request cannot succeed.
func IsPermanent(err error) bool {
	var oe *OAuthError
	if errors.As(err, &oe) {
		return permanentCodes[oe.Code]
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return permanentCodes[re.ErrorCode]
	}
	var ve *VerificationError
	return errors.As(err, &ve)
}

// IsGrantDead reports whether a refresh failure is about the grant itself
// (invalid_grant: revoked, expired or superseded): the only answer after
// which a session's grant is gone.
func IsGrantDead(err error) bool {
	return oauthCode(err) == "invalid_grant"
}

// IsMisconfiguration reports whether a refresh failure says the client or
// the configuration is broken rather than the grant: a permanent OAuth
// error other than invalid_grant (invalid_client, unauthorized_client,
// unsupported_grant_type, invalid_scope, invalid_request), or a refreshed
// ID token that fails verification (an edited issuer fails the iss check
// for every grant). Such an answer must not end sessions.
func IsMisconfiguration(err error) bool {
	if code := oauthCode(err); code != "" {
		return permanentCodes[code] && code != "invalid_grant"
	}
	var ve *VerificationError
	return errors.As(err, &ve)
}

// oauthCode is the RFC 6749 error code of err, or "".
func oauthCode(err error) string {
	var oe *OAuthError
	if errors.As(err, &oe) {
		return oe.Code
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

// RetryAfter returns the delay the provider asked for, if any.
func RetryAfter(err error) time.Duration {
	var oe *OAuthError
	if errors.As(err, &oe) {
		return oe.RetryAfter
	}
	return 0
}

// maxDuration is the longest time.Duration; callers cap Retry-After anyway.
const maxDuration = time.Duration(1<<63 - 1)

// ParseRetryAfter reads a Retry-After header in delay-seconds or HTTP-date
// form; it returns 0 when the header is absent or unusable.
func ParseRetryAfter(h string, now time.Time) time.Duration {
	if h == "" {
		return 0
	}
	var secs int64
	if _, err := fmt.Sscanf(h, "%d", &secs); err == nil && fmt.Sprint(secs) == h {
		if secs < 0 {
			return 0
		}
		if secs > int64(maxDuration/time.Second) {
			return maxDuration // would overflow into a negative or tiny delay
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
