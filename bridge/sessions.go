package bridge

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/sessionbridge/sessionbridge/bridge/lifecycle"
	"github.com/sessionbridge/sessionbridge/bridge/seal"
	"github.com/sessionbridge/sessionbridge/bridge/sessioncache"
	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/providers"
)

// Credential is a decoded session credential: which session, and the
// secret that proves the bearer owns it.
type Credential struct {
	SessionID string
	Secret    string
}

// String redacts the secret.
func (c Credential) String() string { return "Credential{session:" + c.SessionID + "}" }

// Authenticate returns the live session a credential names. A session of
// a blocked user fails with ErrUserBlocked. With a session cache
// (Options.Cache) a recently seen session of an active user is answered
// from memory: the cache follows the store's change feed (sessions and
// users alike), so a revocation or a block made here counts at once and
// one made elsewhere within the cache's staleness bound (1 s).
func (s *Service) Authenticate(ctx context.Context, c Credential) (store.Session, error) {
	if c.SessionID == "" || c.Secret == "" {
		return store.Session{}, ErrUnauthorized()
	}
	var ticket sessioncache.Ticket
	if s.o.Cache != nil {
		var sess store.Session
		var ok bool
		if sess, ok, ticket = s.o.Cache.Get(ctx, c.SessionID); ok {
			if !sess.Expire.After(s.now()) || subtle.ConstantTimeCompare(sess.SecretHash, hashSecret(c.Secret)) != 1 {
				return store.Session{}, ErrUnauthorized()
			}
			s.touchUser(ctx, sess.UserID) // in memory unless a day has passed
			return sess, nil
		}
	}
	sess, err := s.liveSession(ctx, c.SessionID)
	if err != nil {
		return store.Session{}, err
	}
	if subtle.ConstantTimeCompare(sess.SecretHash, hashSecret(c.Secret)) != 1 {
		return store.Session{}, ErrUnauthorized()
	}
	if err := s.userActive(ctx, sess.UserID); err != nil {
		return sess, err
	}
	if s.o.Cache != nil {
		// Cached only once its user is known to be active; a later
		// block or delete of the user evicts it (a user change).
		s.o.Cache.Put(ticket, sess)
	}
	return sess, nil
}

// AuthenticateJWT returns the session a verified JWT is bound to, if it
// is still live, still its user's, and the user is not blocked: a JWT
// stops working the moment its session ends, however long it has left.
func (s *Service) AuthenticateJWT(ctx context.Context, userID, sessionID string) (store.Session, error) {
	sess, err := s.liveSession(ctx, sessionID)
	if err != nil {
		return store.Session{}, err
	}
	if sess.UserID != userID {
		return store.Session{}, ErrUnauthorized()
	}
	return sess, s.userActive(ctx, sess.UserID)
}

// liveSession reads a session that has not expired; ErrUnauthorized when
// there is none.
func (s *Service) liveSession(ctx context.Context, id string) (store.Session, error) {
	sess, err := s.o.Store.GetSession(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, ErrUnauthorized()
	}
	if err != nil {
		return store.Session{}, fmt.Errorf("read session: %w", err)
	}
	if !sess.Expire.After(s.now()) {
		return store.Session{}, ErrUnauthorized()
	}
	s.touchUser(ctx, sess.UserID)
	return sess, nil
}

// userActive fails with ErrUserBlocked for a blocked user and with
// ErrUnauthorized for one that is gone.
func (s *Service) userActive(ctx context.Context, userID string) error {
	_, err := s.activeUser(ctx, userID)
	if AsError(err).Type == TypeUserNotFound {
		return ErrUnauthorized()
	}
	return err
}

// User returns a user by ID.
func (s *Service) User(ctx context.Context, userID string) (store.User, error) {
	u, err := s.o.Store.GetUser(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return u, newError(KindNotFound, TypeUserNotFound, "User with the requested ID could not be found.", nil)
	}
	return u, err
}

// Sessions lists a user's live sessions, refreshing any whose access token
// has expired but can be renewed, unless the user is blocked (no grant of
// a blocked user is refreshed).
func (s *Service) Sessions(ctx context.Context, userID string) ([]store.Session, error) {
	list, err := s.o.Store.ListSessions(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	blocked := AsError(s.userActive(ctx, userID)).Type == TypeUserBlocked
	now := s.now()
	live := list[:0]
	for _, sess := range list {
		if !sess.Expire.After(now) {
			continue
		}
		if !blocked {
			sess = s.ensureFresh(ctx, sess)
		}
		live = append(live, sess)
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
	fresh, err := s.refreshNow(ctx, sess.ID)
	if err != nil {
		s.o.Logger.Warn("on-read refresh failed", "session", sess.ID, "provider", sess.Provider, "err", err)
		return sess
	}
	return fresh
}

// ExtendSession refreshes a session's provider token now, when it has a
// refresh token, and then slides its expiry (PATCH
// /v1/account/sessions/{id}). The refresh comes first so that a failed one
// leaves the session exactly as it was.
func (s *Service) ExtendSession(ctx context.Context, userID, sessionID string) (store.Session, error) {
	sess, err := s.ownSession(ctx, userID, sessionID)
	if err != nil {
		return sess, err
	}
	if len(sess.RefreshTokenSealed) > 0 && s.o.Refresher != nil {
		fresh, err := s.refreshNow(ctx, sess.ID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return store.Session{}, ErrSessionNotFound() // the refresh ended the session (invalid_grant)
		case errors.Is(err, ErrRefreshNotConfigured):
			// No retry can refresh it (its provider left the
			// configuration): the session is still extended.
			s.o.Logger.Warn("session extended without a provider refresh", "session", sess.ID, "provider", sess.Provider, "err", err)
		case err != nil:
			return sess, refreshFailure(sess.Provider, err)
		default:
			sess = fresh
		}
	}
	for attempt := 0; attempt < 5; attempt++ {
		if attempt > 0 {
			// A refresh or a lease landed in between: re-read and slide again.
			if sess, err = s.ownSession(ctx, userID, sessionID); err != nil {
				return sess, err
			}
		}
		now := s.now()
		sess.Expire = now.Add(s.o.SessionDuration)
		sess.UpdatedAt = now
		err = s.o.Store.CompareAndSwapSession(ctx, &sess)
		switch {
		case errors.Is(err, store.ErrConflict):
			continue
		case errors.Is(err, store.ErrNotFound):
			return store.Session{}, ErrSessionNotFound()
		case err != nil:
			return store.Session{}, fmt.Errorf("extend session: %w", err)
		}
		return sess, nil
	}
	return store.Session{}, newError(KindConflict, TypeServerError, "The session is being updated; try again.", nil)
}

// refreshNow is Refresher.RefreshNow with the caller's wait bounded by
// RefreshWait.
func (s *Service) refreshNow(ctx context.Context, sessionID string) (store.Session, error) {
	ctx, cancel := context.WithTimeout(ctx, s.o.RefreshWait)
	defer cancel()
	return s.o.Refresher.RefreshNow(ctx, sessionID)
}

// refreshFailure turns an on-demand refresh error into the API's answer.
// Permanent rejections arrive as a deleted session or ErrGrantRevoked;
// everything else (the provider failing for now, or the refresher's own
// refusals: busy, circuit open, rate limited, a concurrent attempt that
// failed) is temporary, and the session keeps its still-valid token.
func refreshFailure(provider string, err error) error {
	switch {
	case errors.Is(err, ErrGrantRevoked):
		return newError(KindUnauthorized, TypeOAuth2Unauthorized,
			fmt.Sprintf("The %s provider revoked the session's grant; sign in again to renew the provider tokens.", provider), err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled), providers.IsPermanent(err):
		return providerFailure(provider, err)
	}
	return newError(KindUnavailable, TypeOAuth2ProviderError,
		fmt.Sprintf("The %s provider's token could not be refreshed right now; try again shortly.", provider), err)
}

// DeleteSession ends one of a user's sessions; reason says who asked
// (lifecycle.SignedOut for its owner, lifecycle.Revoked for an API key).
// The provider token is then revoked in the background where it can be.
func (s *Service) DeleteSession(ctx context.Context, userID, sessionID string, reason lifecycle.Reason) error {
	sess, err := s.ownSession(ctx, userID, sessionID)
	if err != nil {
		return err
	}
	err = s.o.Store.DeleteSession(ctx, sessionID)
	if errors.Is(err, store.ErrNotFound) {
		return ErrSessionNotFound()
	}
	if err == nil {
		s.o.Ended.Ended(sess.Provider, reason, 1)
		s.o.Logger.Info("session deleted", "session", sessionID, "user", userID, "reason", reason)
		s.revokeEnded([]store.Session{sess})
	}
	return err
}

// DeleteSessions ends all of a user's sessions and revokes their
// provider tokens in the background.
func (s *Service) DeleteSessions(ctx context.Context, userID string, reason lifecycle.Reason) error {
	list, err := s.o.Store.ListSessions(ctx, userID)
	if err != nil {
		return err
	}
	n, err := s.o.Store.DeleteUserSessions(ctx, userID)
	if err != nil {
		return err
	}
	for _, sess := range list {
		s.o.Ended.Ended(sess.Provider, reason, 1)
	}
	s.o.Logger.Info("sessions deleted", "user", userID, "count", n, "reason", reason)
	s.revokeEnded(list)
	return nil
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

// AccessToken opens only a session's provider access token (a session
// check shows its owner no refresh token: one decryption instead of two).
func (s *Service) AccessToken(sess store.Session) (string, error) {
	access, err := s.o.Keys.Open(sess.AccessTokenSealed, seal.AAD(sess.ID, "access"))
	if err != nil {
		return "", fmt.Errorf("open access token of session %s: %w", sess.ID, err)
	}
	return access, nil
}

// Ready reports whether the store is reachable.
func (s *Service) Ready(ctx context.Context) error { return s.o.Store.Ping(ctx) }
