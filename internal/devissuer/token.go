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
// counts the request, applies the token faults, authenticates the client
// and runs the grant.
func (i *Issuer) handleToken(w http.ResponseWriter, r *http.Request) {
	rc := rec(r)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		i.tokenError(w, r, http.StatusBadRequest, "invalid_request", "the request body could not be read", "")
		return
	}
	form := r.PostForm
	gt := form.Get("grant_type")
	rc.GrantType = gt
	rc.ClientAuth = authStyle(r, form)
	i.mu.Lock()
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
	i.mu.Unlock()

	f := i.Faults()
	if f.TokenDelay > 0 {
		t := time.NewTimer(f.TokenDelay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			rc.Error = errCanceled
			return
		}
	}
	switch {
	case f.TokenHTML != 0:
		rc.Error = "html"
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(f.TokenHTML)
		_, _ = w.Write([]byte("<!doctype html><html><body><h1>Something went wrong</h1><p>devissuer fault: HTML instead of JSON.</p></body></html>"))
		return
	case f.TokenStatus != 0:
		i.tokenError(w, r, f.TokenStatus, statusErrorCode(f.TokenStatus), "devissuer fault", f.RetryAfter)
		return
	case f.TokenError != "":
		i.tokenError(w, r, http.StatusBadRequest, f.TokenError, "devissuer fault", "")
		return
	}
	for _, p := range tokenParams {
		if len(form[p]) > 1 {
			i.tokenError(w, r, http.StatusBadRequest, "invalid_request", "parameter "+p+" is repeated", "")
			return
		}
	}
	if code, desc := i.authenticateClient(r, form, f); code != "" {
		if code == "invalid_client" {
			w.Header().Set("WWW-Authenticate", `Basic realm="devissuer"`)
			i.tokenError(w, r, http.StatusUnauthorized, code, desc, "")
			return
		}
		i.tokenError(w, r, http.StatusBadRequest, code, desc, "")
		return
	}
	switch gt {
	case "authorization_code":
		i.codeGrant(w, r, form, f)
	case "refresh_token":
		i.refreshGrant(w, r, form, f)
	case "":
		i.tokenError(w, r, http.StatusBadRequest, "invalid_request", "grant_type is required", "")
	default:
		i.tokenError(w, r, http.StatusBadRequest, "unsupported_grant_type", "supported: authorization_code, refresh_token", "")
	}
}

// statusErrorCode picks the RFC 6749 error code that fits an HTTP status.
func statusErrorCode(status int) string {
	if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
		return "temporarily_unavailable"
	}
	return "server_error"
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
func (i *Issuer) authenticateClient(r *http.Request, form url.Values, f Faults) (string, string) {
	var id, secret string
	switch authStyle(r, form) {
	case AuthBoth:
		return "invalid_request", "use one client authentication method, not two"
	case AuthNone:
		return "invalid_client", "client authentication is required"
	case AuthBasic:
		if f.RequirePostAuth {
			return "invalid_client", "this client must use client_secret_post"
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
		if f.RequireBasicAuth {
			return "invalid_client", "this client must use client_secret_basic"
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

// tokenResponse is a successful RFC 6749 §5.1 answer.
type tokenResponse struct {
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
func (i *Issuer) codeGrant(w http.ResponseWriter, r *http.Request, form url.Values, f Faults) {
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
	resp := i.issueLocked(fam, now, true)
	i.mu.Unlock()
	i.finishTokenResponse(w, r, resp, fam, c.nonce, f, false)
}

// refreshGrant runs a refresh_token grant with rotation and reuse detection.
func (i *Issuer) refreshGrant(w http.ResponseWriter, r *http.Request, form url.Values, f Faults) {
	rt := form.Get("refresh_token")
	if rt == "" {
		i.tokenError(w, r, http.StatusBadRequest, "invalid_request", "refresh_token is required", "")
		return
	}
	switch {
	case f.RefreshError != "":
		i.tokenError(w, r, http.StatusBadRequest, f.RefreshError, "devissuer fault", "")
		return
	case f.RefreshStatus != 0:
		i.tokenError(w, r, f.RefreshStatus, statusErrorCode(f.RefreshStatus), "devissuer fault", f.RefreshRetryAfter)
		return
	case f.Refresh200WithError:
		i.refresh200WithError(w, r, f)
		return
	case f.Refresh200WithoutAccessToken:
		writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3600})
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
	resp := i.issueLocked(fam, now, i.opts.RotateRefreshTokens && !f.RefreshOmitRefreshToken)
	i.mu.Unlock()
	i.finishTokenResponse(w, r, resp, fam, "", f, true)
}

// refresh200WithError answers a refresh with HTTP 200 and an error (as
// GitHub and Slack do), in Slack's shape (ok: false).
func (i *Issuer) refresh200WithError(w http.ResponseWriter, r *http.Request, f Faults) {
	code := f.Refresh200ErrorCode
	if code == "" {
		code = "invalid_grant"
	}
	rec(r).Error = code
	writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": code, "error_description": "devissuer fault: error in a 200 answer"})
}

// issueLocked issues an access token for fam and, when newRefresh is set, a
// refresh token that becomes the family's current one. Callers hold i.mu.
func (i *Issuer) issueLocked(fam *family, now time.Time, newRefresh bool) tokenResponse {
	i.sweep(now)
	resp := tokenResponse{AccessToken: newSecret(), TokenType: "Bearer", Scope: strings.Join(fam.scope, " ")}
	at := &accessToken{user: fam.user, scope: fam.scope, family: fam}
	if ttl, ok := i.accessTTL(); ok {
		at.expires = now.Add(ttl)
		resp.ExpiresIn = int64(ttl / time.Second)
	}
	i.st.access[tokenHash(resp.AccessToken)] = at
	if newRefresh {
		resp.RefreshToken = newSecret()
		h := tokenHash(resp.RefreshToken)
		i.st.refresh[h] = &refreshToken{family: fam}
		fam.latest = h
	}
	return resp
}

// finishTokenResponse adds the ID token (signed outside the lock) and
// writes the answer; refresh says whether the refresh-only faults apply.
func (i *Issuer) finishTokenResponse(w http.ResponseWriter, r *http.Request, resp tokenResponse, fam *family, nonce string, f Faults, refresh bool) {
	if hasScope(resp.Scope, "openid") {
		idt, err := i.signIDToken(idTokenParams{
			issuer: i.issuerURL(r), user: fam.user, scope: fam.scope, nonce: nonce,
			authTime: fam.authTime, accessToken: resp.AccessToken, sid: fam.sid,
		}, f)
		if err != nil {
			i.log.Error("devissuer: sign ID token", "err", err)
			i.tokenError(w, r, http.StatusInternalServerError, "server_error", "could not sign the ID token", "")
			return
		}
		resp.IDToken = idt
	}
	if refresh && f.RefreshOmitExpiresIn {
		resp.ExpiresIn = 0
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
