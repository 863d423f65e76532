package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge"
	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// JWT lifetimes, as Appwrite sets them: duration is in seconds, 0 to 3600,
// 900 when absent.
const (
	defaultJWTDuration = 900
	maxJWTDuration     = 3600
)

// jwtRequest is the body of the createJWT routes.
type jwtRequest struct {
	SessionID string `json:"sessionId"`
	Duration  *int   `json:"duration"`
}

func (in jwtRequest) ttl() (time.Duration, error) {
	d := defaultJWTDuration
	if in.Duration != nil {
		d = *in.Duration
	}
	if d < 0 || d > maxJWTDuration {
		return 0, bridge.ErrArgument("Invalid `duration` param: Value must be a valid range between 0 and " + strconv.Itoa(maxJWTDuration) + ".")
	}
	return time.Duration(d) * time.Second, nil
}

// createAccountJWT is account.createJWT (POST /v1/account/jwts): a JWT
// bound to the caller's session and user, rate-limited per user.
func (s *Server) createAccountJWT(w http.ResponseWriter, r *http.Request, c caller) {
	var in jwtRequest
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if !s.allow(w, r, s.limits.jwt, c.session.UserID) {
		s.writeError(w, r, errRateLimited)
		return
	}
	s.writeJWT(w, r, c.session, in)
}

// createUserJWT is users.createJWT (POST /v1/users/{userId}/jwts): an API
// key makes a JWT for one of the user's sessions (sessionId, or the most
// recent one when it is "" or "recent").
func (s *Server) createUserJWT(w http.ResponseWriter, r *http.Request, c caller) {
	var in jwtRequest
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	sess, err := s.svc.JWTSession(r.Context(), r.PathValue("userId"), in.SessionID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJWT(w, r, sess, in)
}

func (s *Server) writeJWT(w http.ResponseWriter, r *http.Request, sess store.Session, in jwtRequest) {
	ttl, err := in.ttl()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	token, err := s.jwt.Sign(sess.UserID, sess.ID, ttl)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"jwt": token})
}
