package bridge

import (
	"errors"
	"fmt"
)

// Appwrite error types the bridge returns (Appwrite's own strings, so SDKs
// and apps that switch on them keep working).
const (
	TypeUnauthorizedScope   = "general_unauthorized_scope"
	TypeSessionNotFound     = "user_session_not_found"
	TypeUserNotFound        = "user_not_found"
	TypeUserUnauthorized    = "user_unauthorized"
	TypeArgumentInvalid     = "general_argument_invalid"
	TypeProviderDisabled    = "project_provider_disabled"
	TypeProviderUnsupported = "project_provider_unsupported"
	TypeOAuth2ProviderError = "user_oauth2_provider_error"
	TypeOAuth2BadResponse   = "user_oauth2_bad_response"
	TypeOAuth2Unauthorized  = "user_oauth2_unauthorized"
	TypeInvalidToken        = "user_invalid_token"
	TypeRateLimitExceeded   = "general_rate_limit_exceeded"
	TypeProjectNotFound     = "project_not_found"
	TypeRouteNotFound       = "general_route_not_found"
	TypeServerError         = "general_server_error"
	TypeServiceUnavailable  = "general_service_disabled"
	TypeMethodUnsupported   = "general_not_implemented"
	TypeSessionAlreadyExist = "user_session_already_exists"
	TypeUserBlocked         = "user_blocked"
	TypeIdentityNotFound    = "user_identity_not_found"
	TypeCursorNotFound      = "general_cursor_not_found"
	TypeJWTInvalid          = "user_jwt_invalid"
)

// ErrorKind is what kind of failure an Error is, in the domain's words;
// the HTTP layer maps each kind to its status code (bridge/httpapi).
type ErrorKind uint8

// Error kinds. The zero kind is an internal failure, so an Error that
// names none is never mistaken for the caller's fault.
const (
	// KindInternal: the bridge itself failed (a store error, a bug).
	KindInternal ErrorKind = iota
	// KindInvalid: the request is malformed or names a flow that is gone.
	KindInvalid
	// KindUnauthorized: no valid credential, or a user or grant that may
	// no longer be used.
	KindUnauthorized
	// KindForbidden: a valid caller that may not do this.
	KindForbidden
	// KindNotFound: the named session, user, identity or route is unknown.
	KindNotFound
	// KindConflict: a concurrent change won; trying again may succeed.
	KindConflict
	// KindDisabled: the provider asked for is not enabled.
	KindDisabled
	// KindUnsupportedFormat: the request body comes in a format the
	// route does not take.
	KindUnsupportedFormat
	// KindProviderFailed: the provider refused or answered unusably.
	KindProviderFailed
	// KindRateLimited: the caller made too many requests.
	KindRateLimited
	// KindUnavailable: a dependency is down for now; a retry may work.
	KindUnavailable
	// KindTimeout: the provider did not answer in time.
	KindTimeout
)

// CallerFault reports whether a failure of this kind is about the
// request or the provider rather than the bridge being unable to serve:
// such failures are logged as refusals, not errors.
func (k ErrorKind) CallerFault() bool {
	switch k {
	case KindInvalid, KindUnauthorized, KindForbidden, KindNotFound, KindConflict, KindDisabled,
		KindUnsupportedFormat, KindProviderFailed, KindRateLimited:
		return true
	}
	return false
}

// Error is a failure with an Appwrite type and a domain kind. Message is
// safe to show to the caller: it never contains a secret. Err keeps the
// cause for logs (which must not contain secrets either).
type Error struct {
	Type    string
	Kind    ErrorKind
	Message string
	// ProviderDescription is the provider's own words about a failed login
	// (its error_description), set only once the callback's state was
	// validated, since anyone can craft a callback URL. It is untrusted
	// text: cleaned of control characters and bounded, to be shown escaped.
	ProviderDescription string
	Err                 error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Type, e.Message, e.Err)
	}
	return e.Type + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

func newError(kind ErrorKind, typ, msg string, cause error) *Error {
	return &Error{Type: typ, Kind: kind, Message: msg, Err: cause}
}

// AsError classifies any error as an *Error, defaulting to an internal
// failure whose message reveals nothing.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return newError(KindInternal, TypeServerError, "Server Error", err)
}

var (
	errUnauthorized = newError(KindUnauthorized, TypeUnauthorizedScope,
		"User (role: guests) missing scope (account)", nil)
	errSessionNotFound = newError(KindNotFound, TypeSessionNotFound,
		"The current user session could not be found.", nil)
	errUserBlocked = newError(KindUnauthorized, TypeUserBlocked,
		"The current user has been blocked. You can unblock the user by making a request to the User API's \"Update User Status\" endpoint.", nil)
	errIdentityNotFound = newError(KindNotFound, TypeIdentityNotFound,
		"The identity could not be found. Please sign in with OAuth provider to create identity first.", nil)
	errCursorNotFound = newError(KindInvalid, TypeCursorNotFound,
		"The cursor is invalid. This can happen if the item represented by the cursor has been deleted.", nil)
)

// ErrUserBlocked is Appwrite's user_blocked (unauthorized): the user's status is false.
func ErrUserBlocked() *Error { return errUserBlocked }

// ErrUnauthorized is returned when a request carries no valid session.
func ErrUnauthorized() *Error { return errUnauthorized }

// ErrSessionNotFound is returned for a session that does not exist or is
// not the caller's.
func ErrSessionNotFound() *Error { return errSessionNotFound }

// ErrArgument is a general_argument_invalid (KindInvalid).
func ErrArgument(msg string) *Error {
	return newError(KindInvalid, TypeArgumentInvalid, msg, nil)
}
