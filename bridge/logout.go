package bridge

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/sessionbridge/sessionbridge/bridge/lifecycle"
	"github.com/sessionbridge/sessionbridge/bridge/revoke"
	"github.com/sessionbridge/sessionbridge/bridge/seal"
	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/providers"
)

// TokenRevoker revokes provider tokens in the background after sessions
// end; bridge/revoke implements it.
type TokenRevoker interface {
	// Go runs fn off the request path.
	Go(fn func(ctx context.Context))
	// Send revokes one token (with retries) and records the outcome.
	Send(ctx context.Context, provider string, req providers.RevokeRequest)
	// Count records an outcome that needed no request.
	Count(provider, result string)
}

// LogoutError is a refused back-channel logout request: the answer is
// 400 with the OAuth error invalid_request (Back-Channel Logout 1.0 §2.8)
// unless Unavailable says the provider's keys could not be fetched (a
// retry may succeed).
type LogoutError struct {
	Reason      string // short, safe to show: never the token
	Unavailable bool
	Err         error
}

func (e *LogoutError) Error() string { return "back-channel logout refused: " + e.Reason }
func (e *LogoutError) Unwrap() error { return e.Err }

// BackchannelLogout ends the sessions a provider's logout token names
// (OpenID Connect Back-Channel Logout 1.0): with a sid, the sessions of
// that provider session (and of that sub when the token has one too);
// with a sub alone, every session of that user at the provider. A token
// that fails a check of §2.6, or whose jti was used before, is a
// *LogoutError. It returns how many sessions ended; naming nobody known
// is not an error.
func (s *Service) BackchannelLogout(ctx context.Context, provider, rawToken string) (int, error) {
	p, err := s.o.Providers.Get(provider)
	if err != nil {
		return 0, &LogoutError{Reason: "unknown provider"}
	}
	bl, ok := p.(providers.BackchannelLogout)
	if !ok {
		return 0, &LogoutError{Reason: "the provider does not support back-channel logout"}
	}
	if rawToken == "" {
		return 0, &LogoutError{Reason: "logout_token is missing"}
	}
	claims, err := bl.VerifyLogoutToken(ctx, rawToken)
	if err != nil {
		return 0, logoutRefusal(err)
	}
	fresh, err := s.o.Store.UseLogoutToken(ctx, provider, claims.JTI, claims.Expiry, s.now())
	if err != nil {
		return 0, fmt.Errorf("record logout token: %w", err)
	}
	if !fresh {
		return 0, &LogoutError{Reason: "the logout token was already used (jti replay)"}
	}
	list, err := s.o.Store.FindProviderSessions(ctx, provider, claims.Subject, claims.SessionID)
	if err != nil {
		return 0, fmt.Errorf("find sessions to log out: %w", err)
	}
	ended := s.deleteAll(ctx, list, lifecycle.BackchannelLogout)
	s.o.Logger.Info("back-channel logout", "provider", provider, "by_sid", claims.SessionID != "",
		"by_sub", claims.Subject != "", "sessions_ended", len(ended))
	s.revokeEnded(ended)
	return len(ended), nil
}

// logoutRefusal words a failed verification; the check's name is safe to
// show, the underlying error may quote the token's claims and is kept
// for the log only.
func logoutRefusal(err error) error {
	var ve *providers.VerificationError
	var ue *providers.UnavailableError
	switch {
	case errors.As(err, &ve):
		return &LogoutError{Reason: "the logout token failed the " + ve.Check + " check", Err: err}
	case errors.As(err, &ue):
		return &LogoutError{Reason: "the provider's keys could not be fetched; try again", Unavailable: true, Err: err}
	}
	return &LogoutError{Reason: "the logout token could not be verified", Unavailable: true, Err: err}
}

// deleteAll deletes sessions one by one through the store (so every
// delete reaches whatever watches the store), counts them under reason
// and returns the ones it deleted.
func (s *Service) deleteAll(ctx context.Context, list []store.Session, reason lifecycle.Reason) []store.Session {
	var ended []store.Session
	for _, sess := range list {
		err := s.o.Store.DeleteSession(ctx, sess.ID)
		switch {
		case err == nil:
			ended = append(ended, sess)
			s.o.Ended.Ended(sess.Provider, reason, 1)
		case !errors.Is(err, store.ErrNotFound):
			s.o.Logger.Warn("end session", "session", sess.ID, "reason", reason, "err", err)
		}
	}
	return ended
}

// SignOut ends one of a user's sessions like DeleteSession and returns
// where to send the browser to sign out at the provider too (OpenID
// Connect RP-Initiated Logout): the provider's end_session_endpoint with
// the session's ID token as id_token_hint, or "" when the provider has
// none or its configuration does not enable it. postLogoutRedirect is
// where the provider sends the browser back.
func (s *Service) SignOut(ctx context.Context, userID, sessionID, postLogoutRedirect string) (ProviderLogout, error) {
	sess, err := s.ownSession(ctx, userID, sessionID)
	if err != nil {
		return ProviderLogout{}, err
	}
	if err := s.DeleteSession(ctx, userID, sessionID, lifecycle.SignedOut); err != nil {
		return ProviderLogout{}, err
	}
	es, ok := s.endSession(sess.Provider)
	if !ok {
		return ProviderLogout{}, nil
	}
	hint, err := s.o.Keys.Open(sess.IDTokenSealed, seal.AAD(sess.ID, "id_token"))
	if err != nil {
		s.o.Logger.Warn("sign-out: the session's ID token cannot be opened; provider logout without id_token_hint", "session", sess.ID, "err", err)
		hint = ""
	}
	state := randomString(16)
	out := ProviderLogout{URL: es.EndSessionURL(hint, postLogoutRedirect, state)}
	out.Action, out.Params = es.EndSessionForm(hint, postLogoutRedirect, state)
	return out, nil
}

// ProviderLogout is where to send the browser to sign out at the
// provider too: URL for a navigation (GET), or Action and Params for a
// form POST, which keeps the ID token out of URLs. Zero when the provider
// has no end-session endpoint or its configuration does not enable it.
type ProviderLogout struct {
	URL    string
	Action string
	Params map[string]string
}

func (s *Service) endSession(provider string) (providers.EndSession, bool) {
	p, err := s.o.Providers.Get(provider)
	es, ok := p.(providers.EndSession)
	return es, err == nil && ok
}

// ProviderLogoutOrigin returns the origin (scheme://host) of the
// provider's end-session endpoint when RP-initiated logout is enabled
// for it, else "": the account page lets its sign-out form post there.
func (s *Service) ProviderLogoutOrigin(provider string) string {
	es, ok := s.endSession(provider)
	if !ok {
		return ""
	}
	action, _ := es.EndSessionForm("", "", "")
	u, err := url.Parse(action)
	if action == "" || err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// revokeEnded revokes the provider tokens of ended sessions in the
// background (RFC 7009), where the provider can: each session's own
// token where revoking one ends only that login, and where it ends the
// user's whole grant (Google, GitHub) only once no live session of that
// user at that provider is left.
func (s *Service) revokeEnded(ended []store.Session) {
	if s.o.Revoker == nil || len(ended) == 0 {
		return
	}
	s.o.Revoker.Go(func(ctx context.Context) { s.revokeTokens(ctx, ended) })
}

type grantKey struct{ userID, provider, uid string }

func (s *Service) revokeTokens(ctx context.Context, ended []store.Session) {
	lastOfGrant := map[grantKey]store.Session{}
	for _, sess := range ended {
		switch s.revocationScope(sess.Provider) {
		case providers.RevokesToken:
			s.revokeOne(ctx, sess)
		case providers.RevokesGrant:
			lastOfGrant[grantKey{sess.UserID, sess.Provider, sess.ProviderUID}] = sess
		}
	}
	for k, sess := range lastOfGrant {
		if s.grantInUse(ctx, k) {
			s.o.Revoker.Count(sess.Provider, revoke.SharedGrant)
			continue
		}
		s.revokeOne(ctx, sess)
	}
}

func (s *Service) revocationScope(provider string) providers.RevocationScope {
	p, err := s.o.Providers.Get(provider)
	rv, ok := p.(providers.Revoker)
	if err != nil || !ok {
		return ""
	}
	return rv.RevocationScope()
}

// grantInUse reports whether a live session still holds the grant; when
// the store cannot tell, it answers yes: better a token left to expire
// than another device signed out.
func (s *Service) grantInUse(ctx context.Context, k grantKey) bool {
	list, err := s.o.Store.ListSessions(ctx, k.userID)
	if err != nil {
		s.o.Logger.Warn("revocation: list sessions", "user", k.userID, "err", err)
		return true
	}
	now := s.now()
	for _, x := range list {
		if x.Provider == k.provider && x.ProviderUID == k.uid && x.Expire.After(now) {
			return true
		}
	}
	return false
}

// revokeOne revokes a session's grant with its tokens (the provider picks
// which one to send).
func (s *Service) revokeOne(ctx context.Context, sess store.Session) {
	access, refresh, err := s.Tokens(sess)
	if err != nil {
		s.o.Revoker.Count(sess.Provider, revoke.Unreadable)
		s.o.Logger.Warn("revocation: tokens cannot be opened", "session", sess.ID, "err", err)
		return
	}
	if refresh != "" || access != "" {
		s.o.Revoker.Send(ctx, sess.Provider, providers.RevokeRequest{AccessToken: access, RefreshToken: refresh, GrantData: sess.GrantData})
	}
}
