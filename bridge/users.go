package bridge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sessionbridge/sessionbridge/bridge/lifecycle"
	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// Limits of the user calls, as Appwrite sets them.
const (
	// MaxPrefsSize bounds the JSON of a user's preferences (Appwrite's
	// Assoc validator: 65535 characters, "64kB").
	MaxPrefsSize = 65535
	// MaxNameLength bounds a user's name (Appwrite: 128 characters).
	MaxNameLength = 128
)

// activeUser returns the user, ErrUserBlocked when blocked, or a
// not-found error.
func (s *Service) activeUser(ctx context.Context, userID string) (store.User, error) {
	u, err := s.User(ctx, userID)
	if err != nil {
		return u, err
	}
	if u.Blocked {
		return u, ErrUserBlocked()
	}
	return u, nil
}

// ListUsers returns a page of users (GET /v1/users).
func (s *Service) ListUsers(ctx context.Context, p store.Page) ([]store.User, int, error) {
	list, total, err := s.o.Store.ListUsers(ctx, p)
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, errCursorNotFound
	}
	return list, total, err
}

// SetUserStatus blocks (active false) or unblocks a user. Blocking is one
// write to the user's row, which Authenticate reads on every request, so
// the user's sessions and JWTs stop authenticating at once; it also
// unschedules the user's grants, so the refresher leaves them alone.
// Unblocking schedules them again, due now. Sessions are kept: they work
// again after unblocking, as in Appwrite.
func (s *Service) SetUserStatus(ctx context.Context, userID string, active bool) (store.User, error) {
	now := s.now()
	u, err := s.o.Store.SetUserBlocked(ctx, userID, !active, now)
	if errors.Is(err, store.ErrNotFound) {
		return u, errUserNotFound
	}
	if err != nil {
		return u, fmt.Errorf("set user status: %w", err)
	}
	if active && s.o.Refresher != nil {
		s.o.Refresher.Notify(now)
	}
	s.o.Logger.Info("user status changed", "user", userID, "active", active)
	return u, nil
}

// DeleteUser removes a user, its identities, sessions and sealed tokens
// in one transaction (DELETE /v1/users/{userId}).
func (s *Service) DeleteUser(ctx context.Context, userID string) error {
	ended, err := s.o.Store.DeleteUser(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return errUserNotFound
	}
	if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	s.countEnded(ended, lifecycle.UserDeleted)
	s.o.Logger.Info("user deleted", "user", userID, "sessions", len(ended))
	return nil
}

func (s *Service) countEnded(ended []store.SessionRef, reason lifecycle.Reason) {
	for _, r := range ended {
		s.o.Ended.Ended(r.Provider, reason, 1)
	}
}

// SetPrefs replaces a user's preferences with prefs, which must be a JSON
// object of at most MaxPrefsSize bytes once compacted.
func (s *Service) SetPrefs(ctx context.Context, userID string, prefs json.RawMessage) (store.User, error) {
	// Compacted, not decoded and re-encoded: numbers keep every digit.
	var compact bytes.Buffer
	trimmed := bytes.TrimSpace(prefs)
	if len(trimmed) == 0 || trimmed[0] != '{' || json.Compact(&compact, trimmed) != nil {
		return store.User{}, ErrArgument("Invalid `prefs` param: Value must be a valid object.")
	}
	if !utf8.Valid(compact.Bytes()) || prefsHaveNUL(compact.Bytes()) {
		// PostgreSQL's jsonb refuses both (a 500 there): the client's error.
		return store.User{}, ErrArgument("Invalid `prefs` param: Value must be a valid object of UTF-8 text without NUL characters.")
	}
	if compact.Len() > MaxPrefsSize {
		return store.User{}, ErrArgument(fmt.Sprintf("Invalid `prefs` param: Value must be a valid object and no longer than %d characters.", MaxPrefsSize))
	}
	return s.updateUser(s.o.Store.SetUserPrefs(ctx, userID, compact.String(), s.now()))
}

// SetName sets a user's name (at most MaxNameLength characters); later
// logins keep it instead of the provider's.
func (s *Service) SetName(ctx context.Context, userID, name string) (store.User, error) {
	if !utf8.ValidString(name) || strings.ContainsRune(name, 0) || utf8.RuneCountInString(name) > MaxNameLength {
		return store.User{}, ErrArgument(fmt.Sprintf("Invalid `name` param: Value must be a valid string without NUL characters and at most %d chars.", MaxNameLength))
	}
	return s.updateUser(s.o.Store.SetUserName(ctx, userID, name, s.now()))
}

// prefsHaveNUL reports whether a valid JSON document holds a NUL
// character in a key or string (only as the escape \u0000: JSON has no
// raw control characters).
func prefsHaveNUL(doc []byte) bool {
	if !bytes.Contains(doc, []byte(`\u0000`)) {
		return false
	}
	var v any
	if json.Unmarshal(doc, &v) != nil {
		return true
	}
	return hasNUL(v)
}

func hasNUL(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.ContainsRune(v, 0)
	case []any:
		return slices.ContainsFunc(v, hasNUL)
	case map[string]any:
		for k, x := range v {
			if strings.ContainsRune(k, 0) || hasNUL(x) {
				return true
			}
		}
	}
	return false
}

func (s *Service) updateUser(u store.User, err error) (store.User, error) {
	if errors.Is(err, store.ErrNotFound) {
		return u, errUserNotFound
	}
	if err != nil {
		return u, fmt.Errorf("update user: %w", err)
	}
	return u, nil
}

var errUserNotFound = newError(KindNotFound, TypeUserNotFound, "User with the requested ID could not be found.", nil)

// IdentityTokens is an identity with the provider tokens of its freshest
// live grant: of the live sessions of that provider account, the one
// whose access token expires last (the one the refresher renewed most
// recently). The tokens are "" when no live session holds one.
type IdentityTokens struct {
	store.Identity
	AccessToken       string
	AccessTokenExpiry time.Time
	RefreshToken      string
}

// FindIdentities returns a page of identities with their tokens (GET
// /v1/users/identities, and GET /v1/account/identities filtered to the
// caller). Reading sends no token request, unless fresh is set: then a
// grant whose access token expires within FreshWithin (the refresher is
// due on it) is renewed first, or its renewal already under way awaited.
func (s *Service) FindIdentities(ctx context.Context, f store.IdentityFilter, p store.Page, fresh bool) ([]IdentityTokens, int, error) {
	list, total, err := s.o.Store.FindIdentities(ctx, f, p)
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, errCursorNotFound
	}
	if err != nil {
		return nil, 0, fmt.Errorf("find identities: %w", err)
	}
	out, err := s.withTokens(ctx, list, fresh)
	return out, total, err
}

// withTokens attaches each identity's freshest tokens, reading each
// user's sessions once.
func (s *Service) withTokens(ctx context.Context, list []store.Identity, fresh bool) ([]IdentityTokens, error) {
	byUser := map[string][]store.Session{}
	out := make([]IdentityTokens, 0, len(list))
	now := s.now()
	for _, ident := range list {
		sessions, ok := byUser[ident.UserID]
		if !ok {
			var err error
			if sessions, err = s.o.Store.ListSessions(ctx, ident.UserID); err != nil {
				return nil, fmt.Errorf("list sessions: %w", err)
			}
			byUser[ident.UserID] = sessions
		}
		it := IdentityTokens{Identity: ident}
		best, ok := freshestGrant(sessions, ident, now)
		if ok && fresh {
			var err error
			if best, ok, err = s.renewDue(ctx, best, now); err != nil {
				return nil, err
			}
		}
		if ok {
			access, refresh, err := s.Tokens(best)
			if err != nil {
				return nil, err
			}
			it.AccessToken, it.RefreshToken, it.AccessTokenExpiry = access, refresh, best.AccessTokenExpiry
		}
		out = append(out, it)
	}
	return out, nil
}

// renewDue refreshes a grant whose access token expires within
// FreshWithin, unless its user is blocked. It reports false when the
// refresh ended the session (the provider rejected the grant).
func (s *Service) renewDue(ctx context.Context, sess store.Session, now time.Time) (store.Session, bool, error) {
	if s.o.Refresher == nil || len(sess.RefreshTokenSealed) == 0 || sess.AccessTokenExpiry.IsZero() ||
		sess.AccessTokenExpiry.Sub(now) > s.o.FreshWithin || s.userActive(ctx, sess.UserID) != nil {
		return sess, true, nil
	}
	renewed, err := s.refreshNow(ctx, sess.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Session{}, false, nil
	case err != nil:
		return sess, false, refreshFailure(sess.Provider, err)
	}
	return renewed, true, nil
}

// freshestGrant picks, among the live sessions of ident's provider
// account that hold an access token, the one whose token expires last (a
// token without expiry counts as oldest), then the most recently updated.
func freshestGrant(sessions []store.Session, ident store.Identity, now time.Time) (store.Session, bool) {
	var best store.Session
	found := false
	for _, sess := range sessions {
		if sess.Provider != ident.Provider || sess.ProviderUID != ident.ProviderUID ||
			!sess.Expire.After(now) || len(sess.AccessTokenSealed) == 0 {
			continue
		}
		if !found || sess.AccessTokenExpiry.After(best.AccessTokenExpiry) ||
			(sess.AccessTokenExpiry.Equal(best.AccessTokenExpiry) && sess.UpdatedAt.After(best.UpdatedAt)) {
			best, found = sess, true
		}
	}
	return best, found
}

// DeleteIdentity removes an identity, ends the sessions of that provider
// account and wipes their sealed tokens. ownerID, when not "", must own
// the identity (DELETE /v1/account/identities/{id}); an API key passes "".
// It returns the deleted identity.
func (s *Service) DeleteIdentity(ctx context.Context, ownerID, identityID string) (store.Identity, error) {
	if ownerID != "" {
		ident, err := s.o.Store.GetIdentity(ctx, identityID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && ident.UserID != ownerID) {
			return store.Identity{}, errIdentityNotFound
		}
		if err != nil {
			return store.Identity{}, fmt.Errorf("get identity: %w", err)
		}
	}
	ident, ended, err := s.o.Store.DeleteIdentity(ctx, identityID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Identity{}, errIdentityNotFound
	}
	if err != nil {
		return store.Identity{}, fmt.Errorf("delete identity: %w", err)
	}
	s.countEnded(ended, lifecycle.IdentityDeleted)
	s.o.Logger.Info("identity deleted", "identity", identityID, "user", ident.UserID, "provider", ident.Provider, "sessions", len(ended))
	return ident, nil
}

// JWTSession returns the session a JWT created by an API key for userID
// is bound to (POST /v1/users/{userId}/jwts): sessionID, or with "" or
// "recent" the user's most recently created live session.
func (s *Service) JWTSession(ctx context.Context, userID, sessionID string) (store.Session, error) {
	if _, err := s.activeUser(ctx, userID); err != nil {
		return store.Session{}, err
	}
	if sessionID != "" && sessionID != "recent" {
		return s.ownSession(ctx, userID, sessionID)
	}
	list, err := s.o.Store.ListSessions(ctx, userID)
	if err != nil {
		return store.Session{}, fmt.Errorf("list sessions: %w", err)
	}
	now := s.now()
	for i := len(list) - 1; i >= 0; i-- {
		if list[i].Expire.After(now) {
			return list[i], nil
		}
	}
	return store.Session{}, ErrSessionNotFound()
}
