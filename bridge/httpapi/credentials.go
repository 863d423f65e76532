package httpapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/securecookie"
	lru "github.com/hashicorp/golang-lru"

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
	// decoded remembers values already authenticated and decrypted:
	// decoding is deterministic (no max age), and the HMAC, AES and JSON
	// of securecookie were the largest cost of a session check.
	decoded *lru.Cache
}

// decodedCacheSize bounds decoded (about 300 bytes an entry).
const decodedCacheSize = 20000

func newCredentialCodec(name string, keys [][]byte) *credentialCodec {
	codecs := securecookie.CodecsFromPairs(keyPairs(keys, "session credential")...)
	for _, c := range codecs {
		sc := c.(*securecookie.SecureCookie)
		sc.MaxAge(0) // lifetime is enforced by the session's expire in the store
		sc.SetSerializer(securecookie.JSONEncoder{})
		sc.MaxLength(1024)
	}
	decoded, _ := lru.New(decodedCacheSize) // fails only for a size <= 0
	return &credentialCodec{name: name, codecs: codecs, decoded: decoded}
}

func (c *credentialCodec) encode(cred bridge.Credential) (string, error) {
	return securecookie.EncodeMulti(c.name, newCredentialPayload(cred), c.codecs...)
}

func (c *credentialCodec) decode(value string) (bridge.Credential, bool) {
	if value == "" || len(value) > 1024 {
		return bridge.Credential{}, false
	}
	if v, ok := c.decoded.Get(value); ok {
		return v.(bridge.Credential), true
	}
	var p credentialPayload
	if err := securecookie.DecodeMulti(c.name, value, &p, c.codecs...); err != nil {
		return bridge.Credential{}, false
	}
	cred := p.credential()
	if cred.SessionID == "" || cred.Secret == "" {
		return bridge.Credential{}, false
	}
	c.decoded.Add(value, cred)
	return cred, true
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
		if status(e) >= 500 {
			return caller{}, err
		}
		if e.Type == bridge.TypeUserBlocked {
			failure = err
		}
	}
	return caller{}, failure
}

// errJWTInvalid is Appwrite's user_jwt_invalid.
var errJWTInvalid = &bridge.Error{Type: bridge.TypeJWTInvalid, Kind: bridge.KindUnauthorized,
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
	return caller{session: sess, viaJWT: true}, nil
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

// flowCookie is the short-lived, encrypted login-flow cookie: the pending
// logins as JSON under securecookie (AES and HMAC from the session keys),
// host-only (no Domain): only the bridge reads it. Its SameSite does not
// follow cookies.same_site, because the callback is always a cross-site
// arrival from the provider: Strict would never be sent there, and a
// form_post callback (Sign in with Apple) is a cross-site POST that only a
// SameSite=None cookie survives. So it is None when the public URL is
// https (None requires Secure), and Lax on plain http, where browsers
// refuse None. Sending it cross-site is safe: it only lets a callback
// whose state matches one of its flows succeed.
type flowCookie struct {
	codecs   []securecookie.Codec
	secure   bool
	sameSite http.SameSite
}

// flowCookieMaxAge bounds the cookie (and, through securecookie's
// timestamp, the value) to the 10 minutes a login may take.
const flowCookieMaxAge = 600

func newFlowCookie(keys [][]byte, secure bool) *flowCookie {
	codecs := securecookie.CodecsFromPairs(keyPairs(keys, "login flow")...)
	for _, c := range codecs {
		sc := c.(*securecookie.SecureCookie)
		sc.MaxAge(flowCookieMaxAge)
		sc.SetSerializer(securecookie.JSONEncoder{}) // no gob: a fraction of the cost
	}
	f := &flowCookie{codecs: codecs, secure: secure, sameSite: http.SameSiteLaxMode}
	if secure {
		f.sameSite = http.SameSiteNoneMode
	}
	return f
}

// pendingFlows reads the browser's pending logins, dropping expired ones.
// A missing or undecodable cookie yields none.
func (s *Server) pendingFlows(r *http.Request) []bridge.BoundFlow {
	c, err := r.Cookie(flowCookieName)
	if err != nil {
		return nil
	}
	var all []flowPayload
	if securecookie.DecodeMulti(flowCookieName, c.Value, &all, s.flows.codecs...) != nil {
		return nil
	}
	now := s.o.Now()
	var live []bridge.BoundFlow
	for _, f := range all {
		if f.ExpiresAt.After(now) {
			live = append(live, f.flow())
		}
	}
	return live
}

// savePendingFlows writes the pending logins back (or clears the cookie).
func (s *Server) savePendingFlows(w http.ResponseWriter, flows []bridge.BoundFlow) error {
	if len(flows) > maxPendingFlows {
		flows = flows[len(flows)-maxPendingFlows:]
	}
	c := &http.Cookie{Name: flowCookieName, Path: "/", HttpOnly: true, Secure: s.flows.secure, SameSite: s.flows.sameSite}
	if len(flows) == 0 {
		c.MaxAge = -1
		c.Expires = time.Unix(1, 0)
		http.SetCookie(w, c)
		return nil
	}
	value, err := securecookie.EncodeMulti(flowCookieName, newFlowPayloads(flows), s.flows.codecs...)
	if err != nil {
		return errors.New("could not save the login cookie")
	}
	c.Value, c.MaxAge = value, flowCookieMaxAge
	c.Expires = s.o.Now().Add(flowCookieMaxAge * time.Second)
	http.SetCookie(w, c)
	return nil
}
