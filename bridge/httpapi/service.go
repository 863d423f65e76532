package httpapi

import (
	"context"
	"encoding/json"

	"github.com/sessionbridge/sessionbridge/bridge"
	"github.com/sessionbridge/sessionbridge/bridge/lifecycle"
	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// Service is what the HTTP layer asks of the domain: exactly the methods
// its routes call. bridge.Service implements it; the route tests use a
// fake, so they check status codes, JSON, cookies and redirects without a
// store or a provider.
type Service interface {
	// Logins (oauth.go).
	BeginLogin(ctx context.Context, in bridge.LoginStart) (string, error)
	BeginBoundLogin(ctx context.Context, in bridge.LoginStart) (bridge.BoundFlow, string, error)
	BindLogin(ctx context.Context, handle string) (bridge.BoundFlow, string, error)
	CompleteLogin(ctx context.Context, in bridge.CallbackInput, bound bridge.BoundFlow, client bridge.ClientMeta) (*bridge.LoginResult, error)
	AbandonLogin(ctx context.Context, state string) string
	LoginStateRejected(provider string)
	RedeemLoginToken(ctx context.Context, userID, secret string, client bridge.ClientMeta) (store.Session, string, error)

	// Sessions (credentials.go, account.go, jwt.go).
	Authenticate(ctx context.Context, c bridge.Credential) (store.Session, error)
	AuthenticateJWT(ctx context.Context, userID, sessionID string) (store.Session, error)
	Sessions(ctx context.Context, userID string) ([]store.Session, error)
	Session(ctx context.Context, userID, sessionID string) (store.Session, error)
	Fresh(ctx context.Context, sess store.Session) store.Session
	ExtendSession(ctx context.Context, userID, sessionID string) (store.Session, error)
	DeleteSession(ctx context.Context, userID, sessionID string, reason lifecycle.Reason) error
	DeleteSessions(ctx context.Context, userID string, reason lifecycle.Reason) error
	CreateServerSession(ctx context.Context, userID string, client bridge.ClientMeta) (store.Session, string, error)
	JWTSession(ctx context.Context, userID, sessionID string) (store.Session, error)
	AccessToken(sess store.Session) (string, error)
	Tokens(sess store.Session) (access, refresh string, err error)

	// Users and identities (users.go).
	User(ctx context.Context, userID string) (store.User, error)
	ListUsers(ctx context.Context, p store.Page) ([]store.User, int, error)
	SetUserStatus(ctx context.Context, userID string, active bool) (store.User, error)
	SetName(ctx context.Context, userID, name string) (store.User, error)
	SetPrefs(ctx context.Context, userID string, prefs json.RawMessage) (store.User, error)
	DeleteUser(ctx context.Context, userID string) error
	FindIdentities(ctx context.Context, f store.IdentityFilter, p store.Page, fresh bool) ([]bridge.IdentityTokens, int, error)
	DeleteIdentity(ctx context.Context, ownerID, identityID string) (store.Identity, error)

	// Logout (logout.go, accountpage.go).
	SignOut(ctx context.Context, userID, sessionID, postLogoutRedirect string) (bridge.ProviderLogout, error)
	BackchannelLogout(ctx context.Context, provider, rawToken string) (int, error)
	ProviderLogoutOrigin(provider string) string

	ReadinessChecker
}

// ReadinessChecker answers /readyz (see Readyz).
type ReadinessChecker interface {
	Readiness(ctx context.Context) bridge.Readiness
}

var _ Service = (*bridge.Service)(nil)
