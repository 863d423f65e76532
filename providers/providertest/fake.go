// Package providertest is a configurable fake OAuth2 provider over real
// HTTP, for testing presets and the generic oauth2 provider. One fake
// serves any provider: Rewrite maps a provider URL https://host/path?q to
// {fake}/host/path?q, so a preset's real endpoint URLs are kept (only the
// origin changes) and the fake recognises them by their original form.
//
// The fake checks what a real provider checks: the authorization request
// (client_id, redirect_uri, response_type, PKCE challenge), single-use
// codes bound to the redirect URI, client authentication in the configured
// style, the PKCE verifier, and the access token on API calls. Answers are
// configured per endpoint with the provider's documented shapes.
package providertest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Grant is what an answer template may use.
type Grant struct {
	AccessToken  string
	RefreshToken string
	Code         string
	Nonce        string // from the authorization request
	Scope        string // as sent in the authorization request
}

// Response is one configured answer.
type Response struct {
	Status      int    // default 200
	ContentType string // default application/json
	// Body is returned with {access_token}, {refresh_token} and {nonce}
	// filled in; BodyFunc, when set, wins.
	Body     string
	BodyFunc func(Grant) string
}

// Spec configures a Fake. URLs are the provider's real (un-rewritten) ones.
type Spec struct {
	ClientID     string
	ClientSecret string
	// AuthStyle is the client authentication the token endpoint demands:
	// "basic", "post", or "public" (client_id only, no secret).
	AuthStyle string
	// CheckSecret, when set, validates the client secret instead of an
	// equality check (Apple's signed JWT).
	CheckSecret func(secret string) error
	// PKCE requires a S256 challenge and the matching verifier; without
	// it, a challenge is refused.
	PKCE bool
	// NonceWithScope, when set, refuses an authorization request whose
	// scope includes it but that carries no nonce (Autodesk with openid).
	NonceWithScope string
	// JSONTokenRequests makes the token endpoint take only a JSON object
	// body (Podio's /oauth/token/v2); a form body is refused.
	JSONTokenRequests bool
	// GrantURL is GitHub's grant API: DELETE with the client's Basic
	// credentials and {"access_token": ...} answers 204 and revokes the
	// token ({client_id} in it is the client ID).
	GrantURL string
	// CallbackParams are added to the callback redirect (Zoho names the
	// user's data centre in accounts-server and location).
	CallbackParams url.Values
	// RevocationURL is an RFC 7009 endpoint: it authenticates the client
	// like the token endpoint, answers 200 and revokes the token.
	RevocationURL string

	AuthURL  string
	TokenURL string
	// RefreshURL defaults to TokenURL.
	RefreshURL string

	Token   Response // authorization_code answer
	Refresh Response // refresh_token answer
	// APIs are answers by URL without query (user info and the like).
	APIs map[string]Response
	// APIMethods optionally require a method per API URL (default GET).
	APIMethods map[string]string
	// Public are GET answers by URL without query that need no access
	// token (a JSON Web Key Set, say).
	Public map[string]Response
}

// Request is one request the fake received.
type Request struct {
	Method string
	URL    string // original provider URL, query included
	Header http.Header
	Form   url.Values
}

// Fake is a running fake provider.
type Fake struct {
	t      testing.TB
	spec   Spec
	Server *httptest.Server

	mu       sync.Mutex
	codes    map[string]codeGrant
	access   map[string]bool
	refresh  map[string]bool
	requests []Request
	lastAuth url.Values
}

type codeGrant struct {
	redirectURI string
	challenge   string
	nonce       string
	scope       string
}

// New starts a fake; it is closed when the test ends.
func New(t testing.TB, spec Spec) *Fake {
	f := &Fake{t: t, spec: spec, codes: map[string]codeGrant{}, access: map[string]bool{}, refresh: map[string]bool{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Server.Close)
	return f
}

// Rewrite maps a provider URL to the fake (the Options.RewriteURL hook).
func (f *Fake) Rewrite(raw string) string { return Rewrite(f.Server.URL, raw) }

// Rewrite maps https://host/path?q to base/host/path?q.
func Rewrite(base, raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw
	}
	out := base + "/" + u.Host + u.EscapedPath()
	if u.RawQuery != "" {
		out += "?" + u.RawQuery
	}
	return out
}

// original turns a request on the fake back into the provider URL.
func original(r *http.Request) string {
	p := strings.TrimPrefix(r.URL.EscapedPath(), "/")
	u := "https://" + p
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	return u
}

func stripQuery(s string) string {
	if i := strings.IndexByte(s, '?'); i >= 0 {
		return s[:i]
	}
	return s
}

// Requests returns the requests received so far.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests...)
}

// LastAuthorize returns the query of the last authorization request.
func (f *Fake) LastAuthorize() url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastAuth
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	orig := original(r)
	f.mu.Lock()
	f.requests = append(f.requests, Request{Method: r.Method, URL: orig, Header: r.Header.Clone(), Form: r.Form})
	f.mu.Unlock()
	bare := stripQuery(orig)
	refreshURL := f.spec.RefreshURL
	if refreshURL == "" {
		refreshURL = f.spec.TokenURL
	}
	switch {
	case bare == stripQuery(f.spec.AuthURL):
		f.authorize(w, r)
	case f.spec.RevocationURL != "" && r.Method == http.MethodPost && bare == stripQuery(f.spec.RevocationURL):
		f.revoke(w, r)
	case f.spec.GrantURL != "" && r.Method == http.MethodDelete && bare == strings.ReplaceAll(f.spec.GrantURL, "{client_id}", f.spec.ClientID):
		f.revokeGrant(w, r)
	case r.Method == http.MethodPost && (bare == stripQuery(f.spec.TokenURL) || bare == stripQuery(refreshURL)):
		f.token(w, r, bare == stripQuery(refreshURL))
	default:
		f.api(w, r, bare)
	}
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":%q,"error_description":%q}`, code, desc)
}

func (f *Fake) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f.mu.Lock()
	f.lastAuth = q
	f.mu.Unlock()
	redirect := q.Get("redirect_uri")
	switch {
	case q.Get("client_id") != f.spec.ClientID:
		http.Error(w, "unknown client_id", http.StatusBadRequest)
		return
	case redirect == "":
		http.Error(w, "redirect_uri missing", http.StatusBadRequest)
		return
	case q.Get("response_type") != "code":
		http.Error(w, "response_type must be code", http.StatusBadRequest)
		return
	case f.spec.PKCE && (q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256"):
		http.Error(w, "PKCE S256 challenge required", http.StatusBadRequest)
		return
	case f.spec.NonceWithScope != "" && slices.Contains(strings.Fields(q.Get("scope")), f.spec.NonceWithScope) && q.Get("nonce") == "":
		http.Error(w, "a nonce is required with scope "+f.spec.NonceWithScope, http.StatusBadRequest)
		return
	case !f.spec.PKCE && (q.Has("code_challenge") || q.Has("code_challenge_method")):
		// As LinkedIn does for web apps: a provider without PKCE may
		// refuse it, so a preset that says so must not send it.
		http.Error(w, "PKCE is not supported", http.StatusBadRequest)
		return
	}
	code := "code-" + rand.Text()
	f.mu.Lock()
	f.codes[code] = codeGrant{redirectURI: redirect, challenge: q.Get("code_challenge"), nonce: q.Get("nonce"), scope: q.Get("scope")}
	f.mu.Unlock()
	cb, _ := url.Parse(redirect)
	cq := cb.Query()
	cq.Set("code", code)
	cq.Set("state", q.Get("state"))
	for k, v := range f.spec.CallbackParams {
		cq[k] = v
	}
	cb.RawQuery = cq.Encode()
	http.Redirect(w, r, cb.String(), http.StatusFound)
}

// clientAuth checks client authentication in the configured style.
func (f *Fake) clientAuth(r *http.Request) bool {
	id, secret, basic := r.BasicAuth()
	if basic {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	}
	switch f.spec.AuthStyle {
	case "basic":
		if !basic || r.PostForm.Get("client_secret") != "" {
			return false
		}
	case "post":
		if basic {
			return false
		}
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	case "public":
		return !basic && r.PostForm.Get("client_id") == f.spec.ClientID && r.PostForm.Get("client_secret") == ""
	default:
		if !basic {
			id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		}
	}
	if id != f.spec.ClientID {
		return false
	}
	if f.spec.CheckSecret != nil {
		return f.spec.CheckSecret(secret) == nil
	}
	return secret == f.spec.ClientSecret
}

func (f *Fake) token(w http.ResponseWriter, r *http.Request, refreshEndpoint bool) {
	if f.spec.JSONTokenRequests && !jsonForm(r) {
		oauthError(w, http.StatusBadRequest, "invalid_request", "the body must be a JSON object")
		return
	}
	if !f.clientAuth(r) {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	g := Grant{AccessToken: "at-" + rand.Text(), RefreshToken: "rt-" + rand.Text()}
	resp := f.spec.Token
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		code := r.PostForm.Get("code")
		f.mu.Lock()
		cg, ok := f.codes[code]
		delete(f.codes, code)
		f.mu.Unlock()
		if !ok {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "unknown or used code")
			return
		}
		if r.PostForm.Get("redirect_uri") != cg.redirectURI {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri mismatch")
			return
		}
		if cg.challenge != "" {
			sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
			if base64.RawURLEncoding.EncodeToString(sum[:]) != cg.challenge {
				oauthError(w, http.StatusBadRequest, "invalid_grant", "PKCE verification failed")
				return
			}
		}
		g.Code, g.Nonce, g.Scope = code, cg.nonce, cg.scope
	case "refresh_token":
		if f.spec.RefreshURL != "" && !refreshEndpoint {
			oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "refresh at the refresh endpoint")
			return
		}
		rt := r.PostForm.Get("refresh_token")
		f.mu.Lock()
		ok := f.refresh[rt]
		f.mu.Unlock()
		if !ok {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "unknown refresh token")
			return
		}
		resp = f.spec.Refresh
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "")
		return
	}
	f.mu.Lock()
	f.access[g.AccessToken] = true
	f.refresh[g.RefreshToken] = true
	f.mu.Unlock()
	write(w, resp, g)
}

// jsonForm reads a JSON object body into r.PostForm; false when the
// request is not JSON.
func jsonForm(r *http.Request) bool {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		return false
	}
	var obj map[string]string
	if err := json.NewDecoder(r.Body).Decode(&obj); err != nil {
		return false
	}
	r.PostForm = url.Values{}
	for k, v := range obj {
		r.PostForm.Set(k, v)
	}
	return true
}

// revoke is RFC 7009: client authentication, then 200 whether or not the
// token was known; a known one stops working.
func (f *Fake) revoke(w http.ResponseWriter, r *http.Request) {
	if !f.clientAuth(r) {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	tok := r.PostForm.Get("token")
	f.mu.Lock()
	delete(f.access, tok)
	delete(f.refresh, tok)
	f.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// revokeGrant is GitHub's DELETE /applications/{client_id}/grant.
func (f *Fake) revokeGrant(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if !ok || id != f.spec.ClientID || secret != f.spec.ClientSecret {
		http.Error(w, "requires authentication", http.StatusUnauthorized)
		return
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.AccessToken == "" {
		http.Error(w, "validation failed", http.StatusUnprocessableEntity)
		return
	}
	f.mu.Lock()
	delete(f.access, body.AccessToken)
	f.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// Live reports whether an access or refresh token is still usable.
func (f *Fake) Live(tok string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.access[tok] || f.refresh[tok]
}

// api answers a configured API URL when the request carries a live access
// token: as a Bearer or "OAuth" Authorization header, or an access_token
// query parameter.
func (f *Fake) api(w http.ResponseWriter, r *http.Request, bare string) {
	if resp, ok := f.spec.Public[bare]; ok && r.Method == http.MethodGet {
		write(w, resp, Grant{})
		return
	}
	resp, ok := f.spec.APIs[bare]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if m := f.spec.APIMethods[bare]; (m == "" && r.Method != http.MethodGet) || (m != "" && r.Method != m) {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	tok := r.URL.Query().Get("access_token")
	if h := r.Header.Get("Authorization"); h != "" {
		_, tok, _ = strings.Cut(h, " ")
	}
	f.mu.Lock()
	live := f.access[tok]
	f.mu.Unlock()
	if !live {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"error":"invalid_token"}`)
		return
	}
	write(w, resp, Grant{AccessToken: tok})
}

func write(w http.ResponseWriter, resp Response, g Grant) {
	body := resp.Body
	if resp.BodyFunc != nil {
		body = resp.BodyFunc(g)
	}
	body = strings.NewReplacer("{access_token}", g.AccessToken, "{refresh_token}", g.RefreshToken, "{nonce}", g.Nonce).Replace(body)
	ct := resp.ContentType
	if ct == "" {
		ct = "application/json"
	}
	w.Header().Set("Content-Type", ct)
	status := resp.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}
