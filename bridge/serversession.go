package bridge

import (
	"context"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// ServerProvider is Session.provider of sessions an API key creates for a
// user, Appwrite's SESSION_PROVIDER_SERVER.
const ServerProvider = "server"

// IsServerSession reports whether a session was created by an API key
// (CreateServerSession) rather than by a provider login. A login always
// has a provider UID, so a provider that happens to be named "server"
// is not mistaken for one.
func IsServerSession(s store.Session) bool {
	return s.Provider == ServerProvider && s.ProviderUID == ""
}

// CreateServerSession creates a session for an existing user on behalf of
// an API key (POST /v1/users/{userId}/sessions, Appwrite's
// users.createSession), so a server can render pages as that user. The
// session carries no provider grant: no tokens, nothing to refresh. It
// counts against the per-user cap like any other session. It returns the
// session and its secret.
func (s *Service) CreateServerSession(ctx context.Context, userID string, client ClientMeta) (store.Session, string, error) {
	if _, err := s.activeUser(ctx, userID); err != nil {
		return store.Session{}, "", err
	}
	return s.createSession(ctx, store.Session{ID: store.NewID(), UserID: userID, Provider: ServerProvider}, client)
}

// Fresh returns sess refreshed when its access token has expired and can
// be renewed, or as it is. It lets a handler that already holds the
// caller's own session (authenticated moments ago) skip a second read.
func (s *Service) Fresh(ctx context.Context, sess store.Session) store.Session {
	return s.ensureFresh(ctx, sess)
}
