package bridge

import (
	"errors"
	"fmt"
	"net/http"
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

// Error is a failure with an Appwrite type and HTTP status. Message is
// safe to show to the caller: it never contains a secret. Err keeps the
// cause for logs (which must not contain secrets either).
type Error struct {
	Type    string
	Code    int
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

func newError(code int, typ, msg string, cause error) *Error {
	return &Error{Type: typ, Code: code, Message: msg, Err: cause}
}

// AsError classifies any error as an *Error, defaulting to a 500 whose
// message reveals nothing.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return newError(http.StatusInternalServerError, TypeServerError, "Server Error", err)
}

var (
	errUnauthorized = newError(http.StatusUnauthorized, TypeUnauthorizedScope,
		"User (role: guests) missing scope (account)", nil)
	errSessionNotFound = newError(http.StatusNotFound, TypeSessionNotFound,
		"The current user session could not be found.", nil)
	errUserBlocked = newError(http.StatusUnauthorized, TypeUserBlocked,
		"The current user has been blocked. You can unblock the user by making a request to the User API's \"Update User Status\" endpoint.", nil)
	errIdentityNotFound = newError(http.StatusNotFound, TypeIdentityNotFound,
		"The identity could not be found. Please sign in with OAuth provider to create identity first.", nil)
	errCursorNotFound = newError(http.StatusBadRequest, TypeCursorNotFound,
		"The cursor is invalid. This can happen if the item represented by the cursor has been deleted.", nil)
)

// ErrUserBlocked is Appwrite's user_blocked (401): the user's status is false.
func ErrUserBlocked() *Error { return errUserBlocked }

// ErrUnauthorized is returned when a request carries no valid session.
func ErrUnauthorized() *Error { return errUnauthorized }

// ErrSessionNotFound is returned for a session that does not exist or is
// not the caller's.
func ErrSessionNotFound() *Error { return errSessionNotFound }

// ErrArgument is a 400 general_argument_invalid.
func ErrArgument(msg string) *Error {
	return newError(http.StatusBadRequest, TypeArgumentInvalid, msg, nil)
}
