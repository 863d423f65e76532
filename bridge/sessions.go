package bridge

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"

	"github.com/sessionbridge/sessionbridge/bridge/seal"
	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// Credential is a decoded session credential: which session, and the
// secret that proves the bearer owns it.
type Credential struct {
	SessionID string `json:"id"`
	Secret    string `json:"secret"`
}

// String redacts the secret.
func (c Credential) String() string { return "Credential{session:" + c.SessionID + "}" }

// Authenticate returns the live session a credential names. Every call
// reads the store, so a revocation anywhere takes effect at once.
func (s *Service) Authenticate(ctx context.Context, c Credential) (store.Session, error) {
	if c.SessionID == "" || c.Secret == "" {
		return store.Session{}, ErrUnauthorized()
	}
	sess, err := s.o.Store.GetSession(ctx, c.SessionID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, ErrUnauthorized()
	}
	if err != nil {
		return store.Session{}, fmt.Errorf("read session: %w", err)
	}
	if subtle.ConstantTimeCompare(sess.SecretHash, hashSecret(c.Secret)) != 1 || !sess.Expire.After(s.now()) {
		return store.Session{}, ErrUnauthorized()
	}
	return sess, nil
}

// User returns a user by ID.
func (s *Service) User(ctx context.Context, userID string) (store.User, error) {
	u, err := s.o.Store.GetUser(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return u, newError(http.StatusNotFound, TypeUserNotFound, "User with the requested ID could not be found.", nil)
	}
	return u, err
}

// Identities lists the provider identities linked to a user.
func (s *Service) Identities(ctx context.Context, userID string) ([]store.Identity, error) {
	return s.o.Store.ListIdentities(ctx, userID)
}

// Sessions lists a user's live sessions, refreshing any whose access token
// has expired but can be renewed.
func (s *Service) Sessions(ctx context.Context, userID string) ([]store.Session, error) {
	list, err := s.o.Store.ListSessions(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	now := s.now()
	live := list[:0]
	for _, sess := range list {
		if sess.Expire.After(now) {
			live = append(live, s.ensureFresh(ctx, sess))
		}
	}
	return live, nil
}

// Session returns one of a user's sessions.
func (s *Service) Session(ctx context.Context, userID, sessionID string) (store.Session, error) {
	sess, err := s.ownSession(ctx, userID, sessionID)
	if err != nil {
		return sess, err
	}
	return s.ensureFresh(ctx, sess), nil
}

func (s *Service) ownSession(ctx context.Context, userID, sessionID string) (store.Session, error) {
	sess, err := s.o.Store.GetSession(ctx, sessionID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (sess.UserID != userID || !sess.Expire.After(s.now()))) {
		return store.Session{}, ErrSessionNotFound()
	}
	if err != nil {
		return store.Session{}, fmt.Errorf("read session: %w", err)
	}
	return sess, nil
}

// ensureFresh refreshes a session whose access token has expired and can
// be renewed; on any failure it returns the session as it was, because a
// read must not fail for a refresh the background refresher will retry.
func (s *Service) ensureFresh(ctx context.Context, sess store.Session) store.Session {
	if s.o.Refresher == nil || len(sess.RefreshTokenSealed) == 0 || sess.AccessTokenExpiry.IsZero() ||
		sess.AccessTokenExpiry.After(s.now()) {
		return sess
	}
	fresh, err := s.o.Refresher.RefreshNow(ctx, sess.ID)
	if err != nil {
		s.o.Logger.Warn("on-read refresh failed", "session", sess.ID, "provider", sess.Provider, "err", err)
		return sess
	}
	return fresh
}

// ExtendSession slides a session's expiry and, when it has a refresh
// token, refreshes its provider token now (PATCH /v1/account/sessions/{id}).
func (s *Service) ExtendSession(ctx context.Context, userID, sessionID string) (store.Session, error) {
	for attempt := 0; attempt < 5; attempt++ {
		sess, err := s.ownSession(ctx, userID, sessionID)
		if err != nil {
			return sess, err
		}
		now := s.now()
		sess.Expire = now.Add(s.o.SessionDuration)
		sess.UpdatedAt = now
		err = s.o.Store.CompareAndSwapSession(ctx, &sess)
		if errors.Is(err, store.ErrConflict) {
			continue // a refresh or lease landed in between: re-read and slide again
		}
		if errors.Is(err, store.ErrNotFound) {
			return store.Session{}, ErrSessionNotFound()
		}
		if err != nil {
			return store.Session{}, fmt.Errorf("extend session: %w", err)
		}
		if len(sess.RefreshTokenSealed) == 0 || s.o.Refresher == nil {
			return sess, nil
		}
		fresh, err := s.o.Refresher.RefreshNow(ctx, sess.ID)
		if errors.Is(err, store.ErrNotFound) {
			return store.Session{}, ErrSessionNotFound() // the refresh ended the session (invalid_grant)
		}
		if err != nil {
			return sess, providerFailure(sess.Provider, err)
		}
		return fresh, nil
	}
	return store.Session{}, newError(http.StatusConflict, TypeServerError, "The session is being updated; try again.", nil)
}

// DeleteSession revokes one of a user's sessions.
func (s *Service) DeleteSession(ctx context.Context, userID, sessionID string) error {
	if _, err := s.ownSession(ctx, userID, sessionID); err != nil {
		return err
	}
	err := s.o.Store.DeleteSession(ctx, sessionID)
	if errors.Is(err, store.ErrNotFound) {
		return ErrSessionNotFound()
	}
	if err == nil {
		s.o.Logger.Info("session deleted", "session", sessionID, "user", userID)
	}
	return err
}

// DeleteSessions revokes all of a user's sessions.
func (s *Service) DeleteSessions(ctx context.Context, userID string) error {
	n, err := s.o.Store.DeleteUserSessions(ctx, userID)
	if err == nil {
		s.o.Logger.Info("sessions deleted", "user", userID, "count", n)
	}
	return err
}

// Tokens opens a session's provider tokens. It is the only way plaintext
// tokens leave the store layer.
func (s *Service) Tokens(sess store.Session) (access, refresh string, err error) {
	if access, err = s.o.Keys.Open(sess.AccessTokenSealed, seal.AAD(sess.ID, "access")); err != nil {
		return "", "", fmt.Errorf("open access token of session %s: %w", sess.ID, err)
	}
	if refresh, err = s.o.Keys.Open(sess.RefreshTokenSealed, seal.AAD(sess.ID, "refresh")); err != nil {
		return "", "", fmt.Errorf("open refresh token of session %s: %w", sess.ID, err)
	}
	return access, refresh, nil
}

// Ready reports whether the store is reachable.
func (s *Service) Ready(ctx context.Context) error { return s.o.Store.Ping(ctx) }
