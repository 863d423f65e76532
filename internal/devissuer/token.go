package devissuer

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// tokenParams are the token endpoint parameters that must not repeat.
var tokenParams = []string{"grant_type", "code", "redirect_uri", "code_verifier",
	"refresh_token", "scope", "client_id", "client_secret"}

// handleToken serves the token endpoint (RFC 6749 §3.2): it records and
// counts the request, lets Hooks.Intercept answer in its place,
// authenticates the client and runs the grant.
func (i *Issuer) handleToken(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		i.tokenError(w, r, http.StatusBadRequest, "invalid_request", "the request body could not be read", "")
		return
	}
	form := r.PostForm
	i.noteTokenRequest(r, form)
	if i.intercept(w, r, AtToken) {
		return
	}
	for _, p := range tokenParams {
		if len(form[p]) > 1 {
			i.tokenError(w, r, http.StatusBadRequest, "invalid_request", "parameter "+p+" is repeated", "")
			return
		}
	}
	if !i.clientAuthenticated(w, r, form) {
		return
	}
	switch gt := form.Get("grant_type"); gt {
	case "authorization_code":
		i.codeGrant(w, r, form)
	case "refresh_token":
		i.refreshGrant(w, r, form)
	case "":
		i.tokenError(w, r, http.StatusBadRequest, "invalid_request", "grant_type is required", "")
	default:
		i.tokenError(w, r, http.StatusBadRequest, "unsupported_grant_type", "supported: authorization_code, refresh_token", "")
	}
}

// noteTokenRequest fills the request's record and counts it, before
// anything can fail: Stats and RefreshTokenUses count what was sent,
// whatever the answer.
func (i *Issuer) noteTokenRequest(r *http.Request, form url.Values) {
	rc := rec(r)
	gt := form.Get("grant_type")
	rc.GrantType = gt
	rc.ClientAuth = authStyle(r, form)
	i.mu.Lock()
	defer i.mu.Unlock()
	switch gt {
	case "authorization_code":
		i.stats.TokenRequests++
	case "refresh_token":
		i.stats.RefreshRequests++
		if rt := form.Get("refresh_token"); rt != "" {
			rc.RefreshTokenID = TokenID(rt)
			i.st.uses[rc.RefreshTokenID]++
		}
	}
}

// clientAuthenticated authenticates the client of a token or revocation
// request; when that fails it answers (401 with a challenge for
// invalid_client, RFC 6749 §5.2) and reports false.
func (i *Issuer) clientAuthenticated(w http.ResponseWriter, r *http.Request, form url.Values) bool {
	code, desc := i.authenticateClient(r, form)
	switch code {
	case "":
		return true
	case "invalid_client":
		w.Header().Set("WWW-Authenticate", `Basic realm="devissuer"`)
		i.tokenError(w, r, http.StatusUnauthorized, code, desc, "")
	default:
		i.tokenError(w, r, http.StatusBadRequest, code, desc, "")
	}
	return false
}

// authStyle names the client authentication the request used.
func authStyle(r *http.Request, form url.Values) string {
	_, _, basic := r.BasicAuth()
	post := form.Has("client_secret")
	switch {
	case basic && post:
		return AuthBoth
	case basic:
		return AuthBasic
	case post:
		return AuthPost
	}
	return AuthNone
}

// authenticateClient checks the client's credentials (RFC 6749 §2.3.1:
// Basic values are form-encoded before base64). It returns an error code
// and description, or "" when the client is authenticated.
func (i *Issuer) authenticateClient(r *http.Request, form url.Values) (string, string) {
	var id, secret string
	switch authStyle(r, form) {
	case AuthBoth:
		return "invalid_request", "use one client authentication method, not two"
	case AuthNone:
		return "invalid_client", "client authentication is required"
	case AuthBasic:
		if why := i.refusedAuthMethod(AuthBasic); why != "" {
			return "invalid_client", why
		}
		bid, bsecret, _ := r.BasicAuth()
		var err1, err2 error
		id, err1 = url.QueryUnescape(bid)
		secret, err2 = url.QueryUnescape(bsecret)
		if err1 != nil || err2 != nil {
			return "invalid_client", "malformed Basic credentials"
		}
		if fid := form.Get("client_id"); fid != "" && fid != id {
			return "invalid_request", "client_id does not match the Basic credentials"
		}
	case AuthPost:
		if why := i.refusedAuthMethod(AuthPost); why != "" {
			return "invalid_client", why
		}
		id, secret = form.Get("client_id"), form.Get("client_secret")
	}
	idOK := subtle.ConstantTimeCompare([]byte(id), []byte(i.opts.ClientID)) == 1
	secretOK := subtle.ConstantTimeCompare([]byte(secret), []byte(i.opts.ClientSecret)) == 1
	if !idOK || !secretOK {
		return "invalid_client", "unknown client or wrong secret"
	}
	return "", ""
}

// TokenResponse is a successful RFC 6749 §5.1 answer (see
// Hooks.TokenResponse).
type TokenResponse struct {
	AccessToken  string `json:"access_token,omitempty"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

// codeGrant redeems an authorization code. A code is spent by its first
// redemption attempt, successful or not; a second attempt also revokes the
// grant the first one created (RFC 6749 §4.1.2).
func (i *Issuer) codeGrant(w http.ResponseWriter, r *http.Request, form url.Values) {
	code := form.Get("code")
	if code == "" {
		i.tokenError(w, r, http.StatusBadRequest, "invalid_request", "code is required", "")
		return
	}
	now := i.now()
	i.mu.Lock()
	c := i.st.codes[tokenHash(code)]
	var desc string
	switch {
	case c == nil:
		desc = "unknown or expired code"
	case c.used:
		i.stats.CodeReuses++
		i.st.revokeFamily(c.family)
		desc = "code was already used"
	case !now.Before(c.expires):
		desc = "code expired"
	case c.redirectURI != form.Get("redirect_uri"):
		desc = "redirect_uri does not match the authorization request"
	case c.challenge == "" && form.Has("code_verifier"):
		desc = "PKCE is not supported: unexpected code_verifier"
	case c.challenge != "" && !pkceMatches(form.Get("code_verifier"), c.challenge):
		desc = "PKCE code_verifier does not match the code_challenge"
	}
	if c != nil {
		c.used = true
	}
	if desc != "" {
		i.mu.Unlock()
		i.tokenError(w, r, http.StatusBadRequest, "invalid_grant", desc, "")
		return
	}
	fam := &family{clientID: c.clientID, user: c.user, scope: c.scope, authTime: c.authTime, sid: newSecret()[:22]}
	c.family = fam
	i.st.sids = append(i.st.sids, sidRecord{sid: fam.sid, sub: c.user.Subject})
	resp := i.issueLocked(fam, now, "authorization_code", true)
	i.mu.Unlock()
	i.finishTokenResponse(w, r, resp, fam, c.nonce)
}

// refreshGrant runs a refresh_token grant with rotation and reuse detection.
func (i *Issuer) refreshGrant(w http.ResponseWriter, r *http.Request, form url.Values) {
	rt := form.Get("refresh_token")
	if rt == "" {
		i.tokenError(w, r, http.StatusBadRequest, "invalid_request", "refresh_token is required", "")
		return
	}
	if i.intercept(w, r, AtRefresh) {
		return
	}
	h := tokenHash(rt)
	now := i.now()
	i.mu.Lock()
	e := i.st.refresh[h]
	var desc string
	switch {
	case e == nil:
		desc = "unknown refresh token"
	case e.family.latest != h:
		i.stats.Replays++
		if i.opts.DetectReuse {
			i.st.revokeFamily(e.family)
		}
		desc = "refresh token was already used"
	case e.family.revoked:
		desc = "refresh token was revoked"
	}
	if desc != "" {
		i.mu.Unlock()
		i.tokenError(w, r, http.StatusBadRequest, "invalid_grant", desc, "")
		return
	}
	fam := e.family
	if s := form.Get("scope"); s != "" {
		for _, sc := range strings.Fields(s) {
			if !hasScope(strings.Join(fam.scope, " "), sc) {
				i.mu.Unlock()
				i.tokenError(w, r, http.StatusBadRequest, "invalid_scope", "scope exceeds the original grant", "")
				return
			}
		}
	}
	resp := i.issueLocked(fam, now, "refresh_token", i.opts.RotateRefreshTokens)
	i.mu.Unlock()
	i.finishTokenResponse(w, r, resp, fam, "")
}

// issueLocked issues an access token for fam and, when newRefresh is set, a
// refresh token that becomes the family's current one; Hooks.TokenResponse
// sees the answer before it takes effect. Callers hold i.mu.
func (i *Issuer) issueLocked(fam *family, now time.Time, grantType string, newRefresh bool) TokenResponse {
	i.sweep(now)
	resp := TokenResponse{AccessToken: newSecret(), TokenType: "Bearer", Scope: strings.Join(fam.scope, " ")}
	at := &accessToken{user: fam.user, scope: fam.scope, family: fam}
	if ttl, ok := i.accessTTL(); ok {
		at.expires = now.Add(ttl)
		resp.ExpiresIn = int64(ttl / time.Second)
	}
	if newRefresh {
		resp.RefreshToken = newSecret()
	}
	if i.hooks.TokenResponse != nil {
		i.hooks.TokenResponse(grantType, &resp)
	}
	i.st.access[tokenHash(resp.AccessToken)] = at
	if resp.RefreshToken != "" {
		h := tokenHash(resp.RefreshToken)
		i.st.refresh[h] = &refreshToken{family: fam}
		fam.latest = h
	}
	return resp
}

// finishTokenResponse adds the ID token (signed outside the lock) and
// writes the answer.
func (i *Issuer) finishTokenResponse(w http.ResponseWriter, r *http.Request, resp TokenResponse, fam *family, nonce string) {
	if hasScope(resp.Scope, "openid") {
		idt, err := i.signIDToken(idTokenParams{
			issuer: i.issuerURL(r), user: fam.user, scope: fam.scope, nonce: nonce,
			authTime: fam.authTime, accessToken: resp.AccessToken, sid: fam.sid,
		})
		if err != nil {
			i.log.Error("devissuer: sign ID token", "err", err)
			i.tokenError(w, r, http.StatusInternalServerError, "server_error", "could not sign the ID token", "")
			return
		}
		resp.IDToken = idt
	}
	writeJSON(w, http.StatusOK, resp)
}

// pkceMatches checks an RFC 7636 S256 verifier against its challenge.
func pkceMatches(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 || !isPKCEChars(verifier) {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) == 1
}

// tokenError writes an RFC 6749 §5.2 error answer.
func (i *Issuer) tokenError(w http.ResponseWriter, r *http.Request, status int, code, desc, retryAfter string) {
	rec(r).Error = code
	if code == "invalid_grant" {
		i.count(func(s *Stats) { s.InvalidGrants++ })
	}
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	i.log.Debug("devissuer: token error", "error", code, "description", desc)
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
