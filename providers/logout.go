package providers

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// LogoutClaims is a verified back-channel logout token (OpenID Connect
// Back-Channel Logout 1.0 §2.4): the provider's user, its session, or
// both, whose sessions must end.
type LogoutClaims struct {
	Subject   string // "" when the token names only a provider session
	SessionID string // the provider session (sid); "" when the token names only a user
	JTI       string
	Expiry    time.Time
}

// BackchannelLogout is implemented by providers that can verify
// back-channel logout tokens (OpenID Connect providers).
type BackchannelLogout interface {
	// VerifyLogoutToken makes every check of Back-Channel Logout §2.6. A
	// token that fails one is a *VerificationError naming the check; a key
	// set that cannot be fetched is an *UnavailableError. It does not
	// check jti replay: that needs the store.
	VerifyLogoutToken(ctx context.Context, raw string) (LogoutClaims, error)
}

// EndSession is implemented by providers that may send the browser to an
// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).
type EndSession interface {
	// EndSessionURL returns where to send the browser to sign out at the
	// provider, or "" when the provider has no end_session_endpoint or its
	// configuration does not enable RP-initiated logout.
	EndSessionURL(idTokenHint, postLogoutRedirectURI, state string) string
	// EndSessionForm is the same request for an HTML form POST (which
	// keeps the ID token out of URLs): the endpoint and the parameters;
	// "" and nil when EndSessionURL would be "".
	EndSessionForm(idTokenHint, postLogoutRedirectURI, state string) (action string, params map[string]string)
}

// Revoker is implemented by providers with a token revocation endpoint
// (RFC 7009) that the configuration lets the bridge use.
type Revoker interface {
	// RevocationScope tells what revoking one token ends at the provider,
	// and "" when the provider cannot revoke (no endpoint, or
	// revoke_tokens: false).
	RevocationScope() RevocationScope
	// RevokeToken sends one revocation request for an ended session's
	// grant; the provider picks the token to send (RFC 7009: the refresh
	// token, else the access token). Errors are *OAuthError (with
	// HTTPStatus, or Err for a network failure); Transient says whether
	// a retry may help.
	RevokeToken(ctx context.Context, req RevokeRequest) error
}

// RevokeRequest is an ended session's grant: its tokens ("" when absent)
// and its Login.GrantData.
type RevokeRequest struct {
	AccessToken  string
	RefreshToken string
	GrantData    string
}

// String redacts the tokens.
func (r RevokeRequest) String() string {
	return fmt.Sprintf("RevokeRequest{access:%t refresh:%t}", r.AccessToken != "", r.RefreshToken != "")
}

// RFC7009Token is the token an RFC 7009 revocation sends, with its
// token_type_hint: the refresh token (revoking it ends what was issued
// with it), else the access token.
func (r RevokeRequest) RFC7009Token() (token, hint string) {
	if r.RefreshToken != "" {
		return r.RefreshToken, "refresh_token"
	}
	return r.AccessToken, "access_token"
}

// RevocationScope is what revoking one token ends at a provider.
type RevocationScope string

const (
	// RevokesToken: only the token revoked (and what was issued with it)
	// ends; the user's other logins keep theirs.
	RevokesToken RevocationScope = "token"
	// RevokesGrant: the user's whole grant to the client ends (Google,
	// GitHub): every session of that user at that provider loses its
	// tokens, so the bridge revokes only when the last one ends.
	RevokesGrant RevocationScope = "grant"
)

// Transient reports whether a failed provider request may succeed when
// sent again: network errors, timeouts, 5xx (but 501), 429 and
// temporarily_unavailable.
func Transient(err error) bool {
	if err == nil {
		return false
	}
	var oe *OAuthError
	if !errors.As(err, &oe) {
		return true // not an answer from the provider: the network
	}
	switch {
	case oe.Code == "temporarily_unavailable" || oe.Code == "server_error":
		return true
	case oe.HTTPStatus == 0:
		return true
	case oe.HTTPStatus == 429:
		return true
	case oe.HTTPStatus >= 500 && oe.HTTPStatus != 501:
		return oe.Code != "unsupported_token_type"
	}
	return false
}
