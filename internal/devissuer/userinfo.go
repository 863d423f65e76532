package devissuer

import (
	"net/http"
	"strings"
)

// bearerToken returns the RFC 6750 access token of r: the Authorization
// header, or for POST the access_token form field.
func bearerToken(w http.ResponseWriter, r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok)
		}
		return ""
	}
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err == nil {
			return r.PostForm.Get("access_token")
		}
	}
	return ""
}

// handleUserinfo serves the OIDC UserInfo endpoint: the claims the access
// token's scopes release, 401 for a missing, unknown or expired token.
func (i *Issuer) handleUserinfo(w http.ResponseWriter, r *http.Request) {
	i.count(func(s *Stats) { s.UserinfoRequests++ })
	w.Header().Set("Cache-Control", "no-store")
	tok := bearerToken(w, r)
	if tok == "" {
		rec(r).Error = "invalid_request"
		w.Header().Set("WWW-Authenticate", `Bearer realm="devissuer"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_request", "error_description": "a Bearer access token is required"})
		return
	}
	now := i.now()
	i.mu.Lock()
	at, ok := i.st.access[tokenHash(tok)]
	if ok && !at.expires.IsZero() && !now.Before(at.expires) {
		ok = false
	}
	var u User
	var scope []string
	if ok {
		u, scope = at.user, at.scope
	}
	i.mu.Unlock()
	if !ok {
		rec(r).Error = "invalid_token"
		w.Header().Set("WWW-Authenticate", `Bearer realm="devissuer", error="invalid_token", error_description="the access token is unknown, revoked or expired"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": "the access token is unknown, revoked or expired"})
		return
	}
	if !hasScope(strings.Join(scope, " "), "openid") {
		rec(r).Error = "insufficient_scope"
		w.Header().Set("WWW-Authenticate", `Bearer realm="devissuer", error="insufficient_scope", scope="openid"`)
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "insufficient_scope", "error_description": "userinfo needs the openid scope"})
		return
	}
	claims := userClaims(u, scope)
	claims["sub"] = u.Subject
	if i.hooks.UserinfoClaims != nil {
		i.hooks.UserinfoClaims(claims)
	}
	writeJSON(w, http.StatusOK, claims)
}

// handleRevoke serves RFC 7009 token revocation. Revoking a refresh token
// revokes its whole grant; unknown tokens are answered 200 as the RFC says.
func (i *Issuer) handleRevoke(w http.ResponseWriter, r *http.Request) {
	rc := rec(r)
	w.Header().Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		i.tokenError(w, r, http.StatusBadRequest, "invalid_request", "the request body could not be read", "")
		return
	}
	rc.ClientAuth = authStyle(r, r.PostForm)
	if !i.clientAuthenticated(w, r, r.PostForm) {
		return
	}
	if i.intercept(w, r, AtRevoke) {
		return
	}
	tok := r.PostForm.Get("token")
	if tok == "" {
		i.tokenError(w, r, http.StatusBadRequest, "invalid_request", "token is required", "")
		return
	}
	h := tokenHash(tok)
	i.mu.Lock()
	if rt, ok := i.st.refresh[h]; ok {
		rc.RefreshTokenID = TokenID(tok)
		i.st.revokeFamily(rt.family)
		i.stats.Revocations++
	} else if _, ok := i.st.access[h]; ok {
		delete(i.st.access, h)
		i.stats.Revocations++
	}
	i.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}
