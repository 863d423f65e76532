package devissuer

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// BackchannelLogoutEvent is the events member of a logout token.
const BackchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// Logout token signing algorithms for LogoutToken.Alg besides the
// default RS256 with the issuer's key.
const (
	AlgNone         = "none"          // unsigned
	AlgHS256        = "HS256"         // HMAC keyed with the client secret
	AlgBadSignature = "bad-signature" // RS256 with another key under the real kid
)

// LogoutToken describes a back-channel logout token (OpenID Connect
// Back-Channel Logout 1.0 §2.4) to sign. The zero value with a Subject or
// SID is a valid token; the other fields break it on purpose.
type LogoutToken struct {
	Subject string
	SID     string
	// JTI defaults to a random value.
	JTI string
	// IssuedAt defaults to now, Expiry to IssuedAt + 2 minutes.
	IssuedAt, Expiry time.Time
	// Claims set or replace claims after the defaults; a nil value
	// removes the claim (e.g. {"exp": nil}, {"nonce": "x"}).
	Claims map[string]any
	// Alg is "" (RS256 with the issuer's key), AlgNone, AlgHS256 or
	// AlgBadSignature.
	Alg string
}

// SignLogoutToken signs lt as this issuer, for its registered client.
func (i *Issuer) SignLogoutToken(lt LogoutToken) (string, error) {
	now := i.now()
	if lt.IssuedAt.IsZero() {
		lt.IssuedAt = now
	}
	if lt.Expiry.IsZero() {
		lt.Expiry = lt.IssuedAt.Add(2 * time.Minute)
	}
	if lt.JTI == "" {
		lt.JTI = newSecret()
	}
	c := map[string]any{
		"iss":    i.URL(),
		"aud":    i.opts.ClientID,
		"iat":    lt.IssuedAt.Unix(),
		"exp":    lt.Expiry.Unix(),
		"jti":    lt.JTI,
		"events": map[string]any{BackchannelLogoutEvent: map[string]any{}},
	}
	if lt.Subject != "" {
		c["sub"] = lt.Subject
	}
	if lt.SID != "" {
		c["sid"] = lt.SID
	}
	for k, v := range lt.Claims {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	switch lt.Alg {
	case "":
		return i.signTyped(i.signer, c)
	case AlgBadSignature:
		s, err := i.badSigner()
		if err != nil {
			return "", err
		}
		return i.signTyped(s, c)
	case AlgNone, AlgHS256:
		return i.handMade(lt.Alg, c)
	}
	return "", fmt.Errorf("devissuer: unknown logout token alg %q", lt.Alg)
}

// signTyped signs with the "logout+jwt" type the final 1.0 recommends.
func (i *Issuer) signTyped(base jose.Signer, c map[string]any) (string, error) {
	s := base
	if base == i.signer {
		var err error
		s, err = jose.NewSigner(
			jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: i.key, KeyID: i.kid, Algorithm: string(jose.RS256)}},
			(&jose.SignerOptions{}).WithType("logout+jwt"))
		if err != nil {
			return "", err
		}
	}
	return jwt.Signed(s).Claims(c).Serialize()
}

// handMade builds tokens no careful library signs: "none", and an HMAC
// keyed with the client secret.
func (i *Issuer) handMade(alg string, c map[string]any) (string, error) {
	hdr, err := json.Marshal(map[string]string{"alg": alg, "typ": "logout+jwt", "kid": i.kid})
	if err != nil {
		return "", err
	}
	body, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString(hdr) + "." + enc.EncodeToString(body)
	if alg == AlgNone {
		return signing + ".", nil
	}
	mac := hmac.New(sha256.New, []byte(i.opts.ClientSecret))
	mac.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(mac.Sum(nil)), nil
}

// SessionIDs returns the provider sessions (sid) of sub's logins, oldest
// first.
func (i *Issuer) SessionIDs(sub string) []string {
	i.mu.Lock()
	defer i.mu.Unlock()
	var out []string
	for _, r := range i.st.sids {
		if r.sub == sub {
			out = append(out, r.sid)
		}
	}
	return out
}

// EndSessionRequest is one RP-initiated logout the issuer accepted.
type EndSessionRequest struct {
	Method                string // GET or POST
	IDTokenHintSub        string // the sub of the id_token_hint, "" without one
	IDTokenHintSID        string
	ClientID              string
	PostLogoutRedirectURI string
	State                 string
}

// EndSessions returns the RP-initiated logouts accepted so far.
func (i *Issuer) EndSessions() []EndSessionRequest {
	i.mu.Lock()
	defer i.mu.Unlock()
	return append([]EndSessionRequest(nil), i.endSessions...)
}

// handleEndSession serves RP-Initiated Logout 1.0 (GET or form POST): an id_token_hint must
// be one of this issuer's ID tokens for the client (expired is fine), a
// post_logout_redirect_uri needs the client identified (by the hint or
// client_id) and registered (as a redirect URI), and the browser is sent
// back there with the state. The provider session of the hint ends: its
// grant is revoked.
func (i *Issuer) handleEndSession(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		i.errorPage(w, http.StatusBadRequest, "The request could not be read.")
		return
	}
	q := r.Form
	req := EndSessionRequest{Method: r.Method, ClientID: q.Get("client_id"), PostLogoutRedirectURI: q.Get("post_logout_redirect_uri"), State: q.Get("state")}
	if req.ClientID != "" && req.ClientID != i.opts.ClientID {
		i.errorPage(w, http.StatusBadRequest, "Unknown client_id.")
		return
	}
	if hint := q.Get("id_token_hint"); hint != "" {
		sub, sid, ok := i.readHint(hint)
		if !ok {
			i.errorPage(w, http.StatusBadRequest, "The id_token_hint is not an ID token of this issuer for this client.")
			return
		}
		req.IDTokenHintSub, req.IDTokenHintSID = sub, sid
	}
	if req.PostLogoutRedirectURI != "" {
		if req.ClientID == "" && req.IDTokenHintSub == "" {
			i.errorPage(w, http.StatusBadRequest, "post_logout_redirect_uri needs client_id or id_token_hint.")
			return
		}
		if err := i.allowedRedirect(req.PostLogoutRedirectURI); err != nil {
			i.errorPage(w, http.StatusBadRequest, "post_logout_redirect_uri is not registered.")
			return
		}
	}
	i.mu.Lock()
	i.endSessions = append(i.endSessions, req)
	i.stats.EndSessions++
	for _, rt := range i.st.refresh {
		if req.IDTokenHintSID != "" && rt.family.sid == req.IDTokenHintSID {
			i.st.revokeFamily(rt.family)
		}
	}
	i.mu.Unlock()
	if req.PostLogoutRedirectURI == "" {
		i.errorPage(w, http.StatusOK, "You are signed out.")
		return
	}
	u, _ := url.Parse(req.PostLogoutRedirectURI) // allowedRedirect parsed it
	if req.State != "" {
		uq := u.Query()
		uq.Set("state", req.State)
		u.RawQuery = uq.Encode()
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// readHint checks an id_token_hint's signature and audience (not its
// expiry: RP-Initiated Logout allows an expired hint).
func (i *Issuer) readHint(raw string) (sub, sid string, ok bool) {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return "", "", false
	}
	var c struct {
		jwt.Claims
		SID string `json:"sid"`
	}
	if err := tok.Claims(&i.key.PublicKey, &c); err != nil || !c.Audience.Contains(i.opts.ClientID) {
		return "", "", false
	}
	return c.Subject, c.SID, true
}
