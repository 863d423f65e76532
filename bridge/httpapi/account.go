package httpapi

import (
	"net/http"
	"strings"

	"github.com/sessionbridge/sessionbridge/bridge"
	"github.com/sessionbridge/sessionbridge/bridge/lifecycle"
	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// caller is who a request is authenticated as.
type caller struct {
	session store.Session // the session the request came with
	value   string        // its opaque credential value ("" for a JWT)
	apiKey  *apiKey       // set for API-key callers
	viaJWT  bool          // authenticated by an X-Appwrite-JWT
}

// errJWTCaller refuses what a JWT must not do: a JWT is a short-lived,
// handed-out copy of a session's authority, so it may neither mint new
// JWTs (which would outlive it) nor extend the session it stands for.
var errJWTCaller = &bridge.Error{Type: bridge.TypeUserUnauthorized, Kind: bridge.KindUnauthorized,
	Message: "The current user is not authorized to perform the requested action."}

// withSession authenticates the request by its session credential.
func (s *Server) withSession(h func(http.ResponseWriter, *http.Request, caller)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := s.authenticate(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		h(w, r, c)
	}
}

// withKey authenticates the request by X-Appwrite-Key and requires scope;
// "a|b" accepts either (Appwrite routes that list several scopes, such as
// users.createSession with users.write and sessions.write).
func (s *Server) withKey(scope string, h func(http.ResponseWriter, *http.Request, caller)) http.HandlerFunc {
	accepted := strings.Split(scope, "|")
	return func(w http.ResponseWriter, r *http.Request) {
		k, ok := s.apiKeyFor(r)
		granted := false
		for _, sc := range accepted {
			granted = granted || (ok && k.scopes[sc])
		}
		if !granted {
			role := "guests"
			if ok {
				role = "applications"
			}
			s.writeError(w, r, &bridge.Error{Type: bridge.TypeUnauthorizedScope, Kind: bridge.KindUnauthorized,
				Message: "User (role: " + role + ") missing scope (" + accepted[0] + ")"})
			return
		}
		h(w, r, caller{apiKey: &k})
	}
}

func (s *Server) getAccount(w http.ResponseWriter, r *http.Request, c caller) {
	u, err := s.svc.User(r.Context(), c.session.UserID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newUserJSON(u))
}

// sessionID resolves the {id} path value, where "current" names the
// caller's own session.
func sessionID(r *http.Request, c caller) string {
	id := r.PathValue("id")
	if id == "current" {
		return c.session.ID
	}
	return id
}

// render turns a stored session into its JSON for this caller.
func (s *Server) render(sess store.Session, c caller, secret string) (sessionJSON, error) {
	showRefresh := c.apiKey != nil || s.o.ExposeRefreshToken
	var access, refresh string
	var err error
	if showRefresh {
		access, refresh, err = s.svc.Tokens(sess)
	} else {
		access, err = s.svc.AccessToken(sess)
	}
	if err != nil {
		return sessionJSON{}, err
	}
	return newSessionJSON(sess, sessionView{
		current:      c.apiKey == nil && sess.ID == c.session.ID,
		showRefresh:  showRefresh,
		secret:       secret,
		access:       access,
		refreshToken: refresh,
	}), nil
}

func (s *Server) writeSession(w http.ResponseWriter, r *http.Request, status int, sess store.Session, c caller, secret string) {
	out, err := s.render(sess, c, secret)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeSessionJSON(w, status, &out)
}

func (s *Server) writeSessionList(w http.ResponseWriter, r *http.Request, list []store.Session, c caller) {
	out := make([]sessionJSON, 0, len(list))
	for _, sess := range list {
		j, err := s.render(sess, c, "")
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out = append(out, j)
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": len(out), "sessions": out})
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request, c caller) {
	list, err := s.svc.Sessions(r.Context(), c.session.UserID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeSessionList(w, r, list, c)
}

func (s *Server) getSession(w http.ResponseWriter, r *http.Request, c caller) {
	id := sessionID(r, c)
	if id == c.session.ID {
		// The caller's own session was read from the store moments ago to
		// authenticate; reading it again would double the hottest path
		// (an app checking its user on every page).
		s.writeSession(w, r, http.StatusOK, s.svc.Fresh(r.Context(), c.session), c, "")
		return
	}
	sess, err := s.svc.Session(r.Context(), c.session.UserID, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeSession(w, r, http.StatusOK, sess, c, "")
}

func (s *Server) updateSession(w http.ResponseWriter, r *http.Request, c caller) {
	if c.viaJWT {
		s.writeError(w, r, errJWTCaller)
		return
	}
	sess, err := s.svc.ExtendSession(r.Context(), c.session.UserID, sessionID(r, c))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if sess.ID == c.session.ID && c.value != "" && r.Header.Get("X-Appwrite-Session") == "" {
		http.SetCookie(w, s.sessionCookie(c.value, sess.Expire))
	}
	s.writeSession(w, r, http.StatusOK, sess, c, "")
}

func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request, c caller) {
	id := sessionID(r, c)
	if err := s.svc.DeleteSession(r.Context(), c.session.UserID, id, lifecycle.SignedOut); err != nil {
		s.writeError(w, r, err)
		return
	}
	if id == c.session.ID {
		http.SetCookie(w, s.sessionCookie("", c.session.Expire))
		s.setFallbackCookie(w, r, "")
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) deleteSessions(w http.ResponseWriter, r *http.Request, c caller) {
	if err := s.svc.DeleteSessions(r.Context(), c.session.UserID, lifecycle.SignedOut); err != nil {
		s.writeError(w, r, err)
		return
	}
	http.SetCookie(w, s.sessionCookie("", c.session.Expire))
	s.setFallbackCookie(w, r, "")
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, c caller) {
	u, err := s.svc.User(r.Context(), r.PathValue("userId"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newUserJSON(u))
}

func (s *Server) listUserSessions(w http.ResponseWriter, r *http.Request, c caller) {
	userID := r.PathValue("userId")
	if _, err := s.svc.User(r.Context(), userID); err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.svc.Sessions(r.Context(), userID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeSessionList(w, r, list, c)
}

// createUserSession is Appwrite's users.createSession: a session for an
// existing user, created by an API key, whose secret is the value a server
// SDK passes to setSession (or sends as X-Appwrite-Session).
func (s *Server) createUserSession(w http.ResponseWriter, r *http.Request, c caller) {
	sess, secret, err := s.svc.CreateServerSession(r.Context(), r.PathValue("userId"), s.clientMeta(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	value, err := s.codec.encode(bridge.Credential{SessionID: sess.ID, Secret: secret})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeSession(w, r, http.StatusCreated, sess, c, value)
}

func (s *Server) deleteUserSessions(w http.ResponseWriter, r *http.Request, c caller) {
	userID := r.PathValue("userId")
	if _, err := s.svc.User(r.Context(), userID); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.svc.DeleteSessions(r.Context(), userID, lifecycle.Revoked); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) deleteUserSession(w http.ResponseWriter, r *http.Request, c caller) {
	if err := s.svc.DeleteSession(r.Context(), r.PathValue("userId"), r.PathValue("id"), lifecycle.Revoked); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// setFallbackCookie sends X-Fallback-Cookies to a cross-site browser app,
// whose SDK keeps the value and sends it back when the cookie cannot stick.
func (s *Server) setFallbackCookie(w http.ResponseWriter, r *http.Request, value string) {
	origin := r.Header.Get("Origin")
	if origin == "" || origin == s.origin || !s.o.Allowlist.AllowsOrigin(origin) {
		return
	}
	b, _ := jsonString(map[string]string{s.cookieName: value})
	w.Header().Set("X-Fallback-Cookies", b)
}
