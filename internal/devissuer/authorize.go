package devissuer

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// routes builds the issuer's HTTP handler.
func (i *Issuer) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", i.record("index", i.handleIndex))
	mux.Handle("GET /.well-known/openid-configuration", i.record("discovery", i.handleDiscovery))
	mux.Handle("GET /jwks", i.record("jwks", i.handleJWKS))
	mux.Handle("GET /authorize", i.record("authorize", i.handleAuthorize))
	mux.Handle("POST /authorize", i.record("authorize", i.handleAuthorize))
	mux.Handle("POST /token", i.record("token", i.savingAfter(i.handleToken)))
	mux.Handle("GET /userinfo", i.record("userinfo", i.handleUserinfo))
	mux.Handle("POST /userinfo", i.record("userinfo", i.handleUserinfo))
	mux.Handle("POST /revoke", i.record("revoke", i.savingAfter(i.handleRevoke)))
	mux.Handle("GET /end_session", i.record("end_session", i.handleEndSession))
	mux.Handle("POST /end_session", i.record("end_session", i.handleEndSession))
	return mux
}

func (i *Issuer) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	i.count(func(s *Stats) { s.DiscoveryRequests++ })
	if i.intercept(w, r, AtDiscovery) {
		return
	}
	iss := i.issuerURL(r)
	doc := map[string]any{
		"issuer":                                     iss,
		"authorization_endpoint":                     iss + "/authorize",
		"token_endpoint":                             iss + "/token",
		"userinfo_endpoint":                          iss + "/userinfo",
		"jwks_uri":                                   iss + "/jwks",
		"revocation_endpoint":                        iss + "/revoke",
		"response_types_supported":                   []string{"code"},
		"response_modes_supported":                   []string{"query"},
		"subject_types_supported":                    []string{"public"},
		"id_token_signing_alg_values_supported":      []string{string(i.alg)},
		"token_endpoint_auth_methods_supported":      []string{AuthBasic, AuthPost},
		"revocation_endpoint_auth_methods_supported": []string{AuthBasic, AuthPost},
		"grant_types_supported":                      []string{"authorization_code", "refresh_token"},
		"scopes_supported":                           []string{"openid", "email", "profile", "offline_access"},
		"claims_supported": []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce",
			"at_hash", "email", "email_verified", "name"},
		"authorization_response_iss_parameter_supported": i.opts.AdvertiseIssParameter,
		"end_session_endpoint":                           iss + "/end_session",
		"backchannel_logout_supported":                   true,
		"backchannel_logout_session_supported":           true,
	}
	if !i.opts.NoPKCE {
		doc["code_challenge_methods_supported"] = []string{"S256"}
	}
	w.Header().Set("Cache-Control", "no-cache")
	writeJSON(w, http.StatusOK, doc)
}

func (i *Issuer) handleJWKS(w http.ResponseWriter, r *http.Request) {
	if i.intercept(w, r, AtJWKS) {
		return
	}
	writeJSON(w, http.StatusOK, i.JWKS())
}

// authzRequest holds the parameters of an authorization request.
type authzRequest struct {
	ClientID, RedirectURI, ResponseType, ResponseMode string
	Scope, State, Nonce, Challenge, Method, Prompt    string
}

// authzParams are the parameters that must not repeat (RFC 6749 §3.1).
var authzParams = []string{"client_id", "redirect_uri", "response_type", "response_mode",
	"scope", "state", "nonce", "code_challenge", "code_challenge_method", "prompt"}

func parseAuthz(form url.Values) (authzRequest, string) {
	for _, p := range authzParams {
		if len(form[p]) > 1 {
			return authzRequest{}, "parameter " + p + " is repeated"
		}
	}
	return authzRequest{
		ClientID: form.Get("client_id"), RedirectURI: form.Get("redirect_uri"),
		ResponseType: form.Get("response_type"), ResponseMode: form.Get("response_mode"),
		Scope: form.Get("scope"), State: form.Get("state"), Nonce: form.Get("nonce"),
		Challenge: form.Get("code_challenge"), Method: form.Get("code_challenge_method"),
		Prompt: form.Get("prompt"),
	}, ""
}

// handleAuthorize serves the authorization endpoint: GET starts a login
// (approving at once with AutoApprove, otherwise showing the form), POST is
// the form's answer. Requests that fail before the client and redirect URI
// are trusted get an error page and are never redirected (RFC 6749 §4.1.2.1).
func (i *Issuer) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	i.count(func(s *Stats) { s.AuthorizeRequests++ })
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		i.errorPage(w, http.StatusBadRequest, "The request could not be read.")
		return
	}
	req, bad := parseAuthz(r.Form)
	switch {
	case bad != "":
		i.errorPage(w, http.StatusBadRequest, "Invalid authorization request: "+bad+".")
		return
	case req.ClientID == "":
		i.errorPage(w, http.StatusBadRequest, "The request has no client_id.")
		return
	case req.ClientID != i.opts.ClientID:
		i.errorPage(w, http.StatusBadRequest, "Unknown client_id: this issuer knows only one client.")
		return
	}
	if err := i.allowedRedirect(req.RedirectURI); err != nil {
		i.errorPage(w, http.StatusBadRequest, "Invalid redirect_uri: "+err.Error()+".")
		return
	}
	// From here on the redirect URI is trusted: errors go back to the client.
	if code, desc := validateAuthz(req, !i.opts.NoPKCE); code != "" {
		i.redirectError(w, r, req, code, desc)
		return
	}
	if r.Method == http.MethodGet {
		if i.opts.AutoApprove != nil {
			i.approve(w, r, req, *i.opts.AutoApprove)
			return
		}
		if hasScope(req.Prompt, "none") {
			i.redirectError(w, r, req, "login_required", "the development issuer always asks who you are")
			return
		}
		i.loginPage(w, http.StatusOK, req, User{EmailVerified: true}, "")
		return
	}
	if r.PostForm.Get("action") == "deny" {
		i.redirectError(w, r, req, "access_denied", "the user cancelled the login")
		return
	}
	u := User{
		Email:         strings.TrimSpace(r.PostForm.Get("email")),
		Name:          strings.TrimSpace(r.PostForm.Get("name")),
		EmailVerified: r.PostForm.Get("email_verified") != "",
	}
	if u.Email == "" || !strings.Contains(u.Email, "@") || len(u.Email) > 254 || len(u.Name) > 200 {
		i.loginPage(w, http.StatusBadRequest, req, u, "Enter an email address (and, if you like, a name of up to 200 characters).")
		return
	}
	i.approve(w, r, req, u)
}

// validateAuthz checks a request whose client and redirect URI are known
// good; it returns an RFC 6749 §4.1.2.1 error code and description. pkce
// says whether the issuer requires PKCE (S256) or does not support it.
func validateAuthz(req authzRequest, pkce bool) (string, string) {
	switch {
	case req.ResponseType == "":
		return "invalid_request", "response_type is required"
	case req.ResponseType != "code":
		return "unsupported_response_type", "only response_type=code is supported"
	case req.ResponseMode != "" && req.ResponseMode != "query":
		return "invalid_request", "only response_mode=query is supported"
	case !pkce && (req.Challenge != "" || req.Method != ""):
		return "invalid_request", "PKCE is not supported: unexpected code_challenge"
	case !pkce:
		return "", ""
	case req.Challenge == "":
		return "invalid_request", "PKCE code_challenge is required"
	case req.Method != "S256":
		return "invalid_request", "transform algorithm not supported: code_challenge_method must be S256"
	case len(req.Challenge) != 43 || !isPKCEChars(req.Challenge):
		return "invalid_request", "code_challenge must be a base64url SHA-256 (43 characters)"
	}
	return "", ""
}

// approve issues a code for u and redirects back to the client.
func (i *Issuer) approve(w http.ResponseWriter, r *http.Request, req authzRequest, u User) {
	u = normalizeUser(u)
	code := newSecret()
	now := i.now()
	i.mu.Lock()
	i.sweep(now)
	i.st.codes[tokenHash(code)] = &authCode{
		clientID: req.ClientID, redirectURI: req.RedirectURI, challenge: req.Challenge,
		nonce: req.Nonce, scope: strings.Fields(req.Scope), user: u,
		authTime: now, expires: now.Add(CodeTTL),
	}
	i.stats.Logins++
	i.mu.Unlock()
	i.log.Debug("devissuer: login approved", "sub", u.Subject)
	i.redirect(w, r, req, url.Values{"code": {code}})
}

func (i *Issuer) redirectError(w http.ResponseWriter, r *http.Request, req authzRequest, code, desc string) {
	rec(r).Error = code
	i.redirect(w, r, req, url.Values{"error": {code}, "error_description": {desc}})
}

// redirect sends the browser to the client's redirect URI with params, the
// state, and (per RFC 9207) iss; Hooks.AuthorizationResponse has the last
// word.
func (i *Issuer) redirect(w http.ResponseWriter, r *http.Request, req authzRequest, params url.Values) {
	u, err := url.Parse(req.RedirectURI)
	if err != nil { // allowedRedirect parsed it already
		i.errorPage(w, http.StatusBadRequest, "Invalid redirect_uri.")
		return
	}
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	if req.State != "" {
		q.Set("state", req.State)
	}
	if i.opts.AdvertiseIssParameter {
		q.Set("iss", i.issuerURL(r))
	}
	if i.hooks.AuthorizationResponse != nil {
		i.hooks.AuthorizationResponse(q)
	}
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// allowedRedirect checks redirect_uri against the registered list, or, with
// none registered, accepts any absolute http(s) URI.
func (i *Issuer) allowedRedirect(uri string) error {
	if uri == "" {
		return errors.New("it is missing")
	}
	if len(i.opts.RedirectURIs) > 0 {
		for _, allowed := range i.opts.RedirectURIs {
			if uri == allowed {
				return nil
			}
		}
		return errors.New("it is not registered for this client")
	}
	return checkRedirectURI(uri)
}

func checkRedirectURI(uri string) error {
	u, err := url.Parse(uri)
	switch {
	case err != nil:
		return errors.New("it is not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return errors.New("it must be an http or https URL")
	case u.Host == "" || u.User != nil:
		return errors.New("it must have a host and no user info")
	case u.Fragment != "" || strings.Contains(uri, "#"):
		return errors.New("it must not have a fragment")
	}
	return nil
}

// isPKCEChars reports whether s uses only RFC 7636 unreserved characters.
func isPKCEChars(s string) bool {
	for _, c := range s {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9',
			c == '-', c == '.', c == '_', c == '~':
		default:
			return false
		}
	}
	return true
}

func hasScope(list, s string) bool {
	for _, f := range strings.Fields(list) {
		if f == s {
			return true
		}
	}
	return false
}

// count updates the counters under the lock.
func (i *Issuer) count(f func(*Stats)) {
	i.mu.Lock()
	f(&i.stats)
	i.mu.Unlock()
}
