package oauth2

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/sessionbridge/sessionbridge/providers"
)

// The interfaces below are the quirk points of the generic provider. A
// preset hook implements only those it needs, and each implementation
// asserts them at compile time (var _ AuthURLHook = ...), so a quirk is a
// small type in its own file rather than a flag in Config.

// AuthURLHook adds per-login parameters to the authorization URL (Apple's
// response_mode=form_post and nonce).
type AuthURLHook interface {
	AuthURLParams(req providers.AuthRequest) url.Values
}

// ClientSecretHook supplies the client secret for each token request,
// for providers whose secret is a short-lived signed assertion (Apple).
type ClientSecretHook interface {
	ClientSecret(now time.Time) (string, error)
}

// TokenResponseHook rewrites a successful token answer before it is parsed,
// for providers whose answer is not RFC 6749 shaped (Yammer nests the
// access token in an object). It must not log or return the body.
type TokenResponseHook interface {
	RewriteTokenResponse(body []byte) ([]byte, error)
}

// IdentityHook completes or corrects the identity after the claims mapping
// ran (GitHub's verified primary e-mail, Apple's ID token and `user` form
// field). It may make further API calls with in.API.
type IdentityHook interface {
	CompleteIdentity(ctx context.Context, in IdentityInput, id *providers.Identity) error
}

// IdentityInput is what an IdentityHook may look at.
type IdentityInput struct {
	// Token is the token answer decoded with numbers kept exact (nil when
	// it was not JSON; FormToken then holds it).
	Token     map[string]any
	FormToken url.Values
	// Userinfo is the decoded user-info answer, nil without userinfo_url.
	Userinfo    any
	UserinfoURL string
	Callback    providers.Callback
	Request     providers.AuthRequest
	ClientID    string
	API         *API
	Now         time.Time
}

// GrantHook lets a provider's endpoints depend on the login (Zoho serves
// each data centre's users from its own accounts server, named in the
// callback): GrantData reads what the grant's later requests need from
// the callback (an error refuses the login before any token request), and
// Endpoint maps a configured endpoint URL for a grant ("" grant data: the
// configured one).
type GrantHook interface {
	GrantData(cb providers.Callback) (string, error)
	Endpoint(configured, grantData string) string
}

// RevokeHook revokes a grant where the provider has no RFC 7009
// endpoint but an API of its own (GitHub's DELETE
// /applications/{client_id}/grant). Errors follow providers.Revoker.
type RevokeHook interface {
	Revoke(ctx context.Context, in RevokeInput) error
}

// RevokeInput is what a RevokeHook may use.
type RevokeInput struct {
	Client       *http.Client
	URL          string // the preset's revocation_url, {client_id} still in it
	ClientID     string
	ClientSecret string
	AccessToken  string
	RefreshToken string
	Now          time.Time
}

// RefreshHook checks a successful refresh answer before its token is
// used, for providers whose refresh returns an ID token that contract §7
// says must be verified like the login's and name the same user (Apple).
// An error refuses the refresh with a *providers.VerificationError
// (permanent: the session ends), except a *providers.UnavailableError or
// any error once ctx has ended, which is passed through as transient so
// that an unreachable key set or a cancelled refresher is not taken as a
// verdict on the grant.
type RefreshHook interface {
	CheckRefresh(ctx context.Context, in RefreshInput) error
}

// RefreshInput is what a RefreshHook may look at.
type RefreshInput struct {
	// IDToken is the answer's id_token, "" when it has none.
	IDToken string
	// Token is the answer decoded with numbers kept exact (nil when it was
	// not JSON).
	Token map[string]any
	// Subject is RefreshRequest.Subject: the identity the grant belongs
	// to, "" when the caller does not know it.
	Subject  string
	ClientID string
	Now      time.Time
}
