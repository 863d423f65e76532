package httpapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"github.com/sessionbridge/sessionbridge/bridge"
)

// deriveKey separates the uses of one configured session key.
func deriveKey(key []byte, purpose string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("sessionbridge " + purpose))
	return m.Sum(nil)
}

// keyPairs turns session_keys into securecookie hash/block pairs; the first
// key encodes, all decode (rotation).
func keyPairs(keys [][]byte, purpose string) [][]byte {
	pairs := make([][]byte, 0, 2*len(keys))
	for _, k := range keys {
		pairs = append(pairs, deriveKey(k, purpose+" hash"), deriveKey(k, purpose+" block"))
	}
	return pairs
}

// credentialCodec encodes the opaque session value that travels in the
// cookie, in X-Appwrite-Session and as the API's session "secret". It is
// authenticated and encrypted, so it reveals neither the session secret
// nor the session ID.
type credentialCodec struct {
	name   string
	codecs []securecookie.Codec
}

func newCredentialCodec(name string, keys [][]byte) *credentialCodec {
	codecs := securecookie.CodecsFromPairs(keyPairs(keys, "session credential")...)
	for _, c := range codecs {
		sc := c.(*securecookie.SecureCookie)
		sc.MaxAge(0) // lifetime is enforced by the session's expire in the store
		sc.SetSerializer(securecookie.JSONEncoder{})
		sc.MaxLength(1024)
	}
	return &credentialCodec{name: name, codecs: codecs}
}

func (c *credentialCodec) encode(cred bridge.Credential) (string, error) {
	return securecookie.EncodeMulti(c.name, cred, c.codecs...)
}

func (c *credentialCodec) decode(value string) (bridge.Credential, bool) {
	var cred bridge.Credential
	if value == "" || len(value) > 1024 {
		return cred, false
	}
	if err := securecookie.DecodeMulti(c.name, value, &cred, c.codecs...); err != nil {
		return bridge.Credential{}, false
	}
	return cred, cred.SessionID != "" && cred.Secret != ""
}

// credentialsFrom lists the session values a request carries, in the
// order Appwrite reads them: the cookie, then X-Appwrite-Session, then
// X-Fallback-Cookies. The caller uses the first that authenticates, so a
// stale value in one place (a browser SDK keeps its fallback in
// localStorage long after that session ended) does not hide a good one.
func (s *Server) credentialsFrom(r *http.Request) []string {
	var out []string
	if c, err := r.Cookie(s.cookieName); err == nil && c.Value != "" {
		out = append(out, c.Value)
	}
	if v := r.Header.Get("X-Appwrite-Session"); v != "" {
		out = append(out, v)
	}
	if fb := r.Header.Get("X-Fallback-Cookies"); fb != "" && len(fb) <= 8192 {
		var m map[string]any
		if json.Unmarshal([]byte(fb), &m) == nil {
			if v, _ := m[s.cookieName].(string); v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

// authenticate returns the session the request is authenticated with.
// An X-Appwrite-JWT header decides alone, as in Appwrite (see
// authenticateJWT). Otherwise it is the first of the session credentials
// that names a live session. It fails with ErrUnauthorized when none
// does, with user_blocked when the only live one is a blocked user's, or
// with a store error.
func (s *Server) authenticate(r *http.Request) (caller, error) {
	if token := r.Header.Get("X-Appwrite-JWT"); token != "" {
		return s.authenticateJWT(r, token)
	}
	failure := error(bridge.ErrUnauthorized())
	for _, value := range s.credentialsFrom(r) {
		cred, ok := s.codec.decode(value)
		if !ok {
			continue
		}
		sess, err := s.svc.Authenticate(r.Context(), cred)
		if err == nil {
			return caller{session: sess, value: value}, nil
		}
		e := bridge.AsError(err)
		if e.Code >= 500 {
			return caller{}, err
		}
		if e.Type == bridge.TypeUserBlocked {
			failure = err
		}
	}
	return caller{}, failure
}

// errJWTInvalid is Appwrite's user_jwt_invalid.
var errJWTInvalid = &bridge.Error{Type: bridge.TypeJWTInvalid, Code: http.StatusUnauthorized,
	Message: "The JWT token is invalid. Please check the value of the X-Appwrite-JWT header to ensure the correct token is being used."}

// authenticateJWT checks a JWT's signature and expiry, then its session in
// the store: a JWT whose session ended, or whose user is blocked, no
// longer authenticates, however long it still has to live.
func (s *Server) authenticateJWT(r *http.Request, token string) (caller, error) {
	claims, err := s.jwt.Verify(token)
	if err != nil {
		return caller{}, errJWTInvalid
	}
	sess, err := s.svc.AuthenticateJWT(r.Context(), claims.UserID, claims.SessionID)
	if err != nil {
		return caller{}, err
	}
	return caller{session: sess}, nil
}

// sessionCookie builds the session cookie (value "" deletes it).
func (s *Server) sessionCookie(value string, expire time.Time) *http.Cookie {
	c := &http.Cookie{
		Name: s.cookieName, Value: value, Path: "/", Domain: s.o.CookieDomain,
		HttpOnly: true, Secure: s.secure, SameSite: s.sameSite,
	}
	if value == "" {
		c.MaxAge = -1
		c.Expires = time.Unix(0, 0)
	} else {
		c.Expires = expire
	}
	return c
}

// flowCookieName holds the browser's pending logins.
const flowCookieName = "sb_flow"

// maxPendingFlows bounds the pending logins one browser may have (tabs).
const maxPendingFlows = 3

// newFlowStore is the gorilla/sessions store of the short-lived, encrypted
// login-flow cookie. It is host-only (no Domain): only the bridge reads it.
// Its SameSite does not follow cookies.same_site, because the callback is
// always a cross-site arrival from the provider: Strict would never be
// sent there, and a form_post callback (Sign in with Apple) is a
// cross-site POST that only a SameSite=None cookie survives. So it is
// None when the public URL is https (None requires Secure), and Lax on
// plain http, where browsers refuse None. Sending it cross-site is safe:
// it only lets a callback whose state matches one of its flows succeed.
func newFlowStore(keys [][]byte, secure bool) *sessions.CookieStore {
	st := sessions.NewCookieStore(keyPairs(keys, "login flow")...)
	sameSite := http.SameSiteLaxMode
	if secure {
		sameSite = http.SameSiteNoneMode
	}
	st.Options = &sessions.Options{Path: "/", MaxAge: 600, HttpOnly: true, Secure: secure, SameSite: sameSite}
	st.MaxAge(600)
	return st
}

// pendingFlows reads the browser's pending logins, dropping expired ones.
// A missing or undecodable cookie yields none.
func (s *Server) pendingFlows(r *http.Request) ([]bridge.BoundFlow, *sessions.Session) {
	sess, err := s.flows.Get(r, flowCookieName)
	if err != nil && sess == nil {
		sess = sessions.NewSession(s.flows, flowCookieName)
	}
	raw, _ := sess.Values["flows"].(string)
	var all []bridge.BoundFlow
	if raw != "" && json.Unmarshal([]byte(raw), &all) != nil {
		all = nil
	}
	now := s.o.Now()
	live := all[:0]
	for _, f := range all {
		if f.ExpiresAt.After(now) {
			live = append(live, f)
		}
	}
	return live, sess
}

// savePendingFlows writes the pending logins back (or clears the cookie).
func (s *Server) savePendingFlows(w http.ResponseWriter, r *http.Request, sess *sessions.Session, flows []bridge.BoundFlow) error {
	if len(flows) > maxPendingFlows {
		flows = flows[len(flows)-maxPendingFlows:]
	}
	if len(flows) == 0 {
		sess.Options.MaxAge = -1
		sess.Values = map[any]any{}
		return sess.Save(r, w)
	}
	raw, err := json.Marshal(flows)
	if err != nil {
		return err
	}
	sess.Values["flows"] = string(raw)
	if err := sess.Save(r, w); err != nil {
		return errors.New("could not save the login cookie")
	}
	return nil
}
