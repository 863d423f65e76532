// Package httpapi serves the Appwrite-compatible HTTP API, the OAuth login
// routes and the browser pages on top of bridge.Service.
package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge"
	"github.com/sessionbridge/sessionbridge/bridge/config"
	"github.com/sessionbridge/sessionbridge/bridge/jwtauth"
)

// Allowlist decides where success/failure redirects may point and which
// origins get CORS (internal/allowlist implements it).
type Allowlist interface {
	AllowsURL(raw string) bool
	AllowsOrigin(origin string) bool
}

// ProviderLink is a sign-in control on the login page.
type ProviderLink struct {
	Key         string
	DisplayName string
	Type        string // the preset name (github, google, ...): picks the icon
}

// Options configures the Server.
type Options struct {
	Service   Service // the domain (a *bridge.Service)
	Project   string
	PublicURL string // external base URL, no trailing slash
	Allowlist Allowlist
	// SessionKeys sign and encrypt cookies; the first encodes.
	SessionKeys        [][]byte
	APIKeys            []config.APIKey
	ExposeRefreshToken bool
	SameSite           http.SameSite
	CookieDomain       string
	Dev                bool
	Providers          []ProviderLink
	Branding           Branding     // the pages' name, logo, colour and template overrides
	Metrics            http.Handler // served at /metrics when set
	// TrustedProxies are the proxies whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// TrustLoopback also believes loopback peers (development mode only).
	TrustLoopback bool
	// RateLimits bound the login, callback and token routes per client;
	// the zero value is Appwrite's limits.
	RateLimits RateLimits
	// ProviderWait is the longest an API request may wait on a provider:
	// a login's token exchange and user info, or a token refresh (PATCH of
	// a session, a read that finds an expired token). The write deadline
	// of /v1/ requests is extended past it; the server's WriteTimeout
	// bounds everything else (pages, assets, health).
	ProviderWait time.Duration
	Logger       *slog.Logger
	Now          func() time.Time
	// RequestMetrics counts requests by route (NewRequestMetrics); nil: none.
	RequestMetrics *RequestMetrics
	// AccessLog logs one line per request at info.
	AccessLog bool
}

// Server is the HTTP front of the bridge.
type Server struct {
	o          Options
	svc        Service
	log        *slog.Logger
	cookieName string
	secure     bool
	sameSite   http.SameSite
	origin     string
	codec      *credentialCodec
	flows      *flowCookie
	apiKeys    []apiKey
	limits     limiters
	jwt        *jwtauth.Signer
	mux        *http.ServeMux
	pages      *template.Template
	text       *pageText
	icons      map[string]bool
	brandCSS   string
	xffWarn    sync.Once
	metrics    *RequestMetrics
}

type apiKey struct {
	id     string
	hash   [32]byte
	scopes map[string]bool
}

// setDefaults fills the optional logger and clock.
func (o *Options) setDefaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// New builds the server and its routes.
func New(o Options) (*Server, error) {
	if o.Service == nil || o.Allowlist == nil || len(o.SessionKeys) == 0 {
		return nil, errors.New("httpapi: Service, Allowlist and SessionKeys are required")
	}
	pub, err := url.Parse(o.PublicURL)
	if err != nil || pub.Host == "" {
		return nil, errors.New("httpapi: PublicURL must be an absolute URL")
	}
	o.setDefaults()
	if o.SameSite == 0 || o.SameSite == http.SameSiteDefaultMode {
		o.SameSite = http.SameSiteLaxMode
	}
	if o.SameSite == http.SameSiteNoneMode && pub.Scheme != "https" {
		// Browsers drop SameSite=None cookies that are not Secure, and a
		// cookie is Secure only on an https public URL (config refuses this).
		return nil, errors.New("httpapi: SameSite=None requires an https PublicURL")
	}
	s := &Server{
		o: o, svc: o.Service, log: o.Logger,
		cookieName: "a_session_" + o.Project, // exactly: the browser SDK looks this name up in X-Fallback-Cookies
		secure:     pub.Scheme == "https",
		sameSite:   o.SameSite,
		origin:     pub.Scheme + "://" + pub.Host,
	}
	if err := s.initPages(); err != nil {
		return nil, err
	}
	s.codec = newCredentialCodec(s.cookieName, o.SessionKeys)
	s.flows = newFlowCookie(o.SessionKeys, s.secure)
	s.limits = newLimiters(o.RateLimits, o.Now)
	if s.jwt, err = jwtauth.New(o.SessionKeys, o.Now); err != nil {
		return nil, err
	}
	s.apiKeys = newAPIKeys(o.APIKeys)
	s.metrics = o.RequestMetrics
	s.routes()
	return s, nil
}

// newAPIKeys keeps the configured keys as hashes with their scopes.
func newAPIKeys(keys []config.APIKey) []apiKey {
	out := make([]apiKey, 0, len(keys))
	for _, k := range keys {
		ak := apiKey{id: k.ID, hash: sha256.Sum256([]byte(k.Secret)), scopes: map[string]bool{}}
		for _, sc := range k.Scopes {
			ak.scopes[sc] = true
		}
		out = append(out, ak)
	}
	return out
}

// initPages prepares what the pages need: the templates (embedded, then
// the branding's overrides), the page strings, the brand stylesheet and
// the provider icons.
func (s *Server) initPages() error {
	var err error
	if s.pages, err = ParseTemplates(s.o.Branding.TemplatesDir); err != nil {
		return err
	}
	if s.text, err = newPageText(); err != nil {
		return err
	}
	if s.brandCSS, err = brandCSS(s.o.Branding.PrimaryColor); err != nil {
		return fmt.Errorf("httpapi: branding primary colour: %w", err)
	}
	if s.o.Branding.AppName == "" {
		s.o.Branding.AppName = DefaultAppName
	}
	s.icons = iconNames()
	return nil
}

// ServeHTTP implements http.Handler: it gives the request its ID, serves
// it, and records it (metrics, access log).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rid := s.requestID(r)
	w.Header().Set(requestIDHeader, rid)
	rec := &recorder{ResponseWriter: w}
	// The mux sets r.Pattern on r itself, so observe sees the route.
	defer s.observe(rec, r, rid, start)
	s.serve(rec, r)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("panic serving request", "method", r.Method, "route", r.Pattern, "panic", v) // the path may carry a login handle
			s.writeError(w, r, errors.New("internal error"))
		}
	}()
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if !s.cors(w, r) || !s.refuseCrossSite(w, r) {
		return
	}
	if strings.HasPrefix(r.URL.Path, "/v1/") && s.o.ProviderWait > 0 {
		// Writers that cannot (recorders) keep the server's own bound.
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.o.ProviderWait + 10*time.Second))
	}
	if strings.HasPrefix(r.URL.Path, "/v1/") && !s.projectMatches(r) {
		s.writeError(w, r, &bridge.Error{Type: bridge.TypeProjectNotFound, Kind: bridge.KindNotFound,
			Message: "Project with the requested ID could not be found. Please check the value of the X-Appwrite-Project header to ensure the correct project ID is being used."})
		return
	}
	s.mux.ServeHTTP(w, r)
}

// projectMatches checks X-Appwrite-Project and ?project= when present.
func (s *Server) projectMatches(r *http.Request) bool {
	if p := r.Header.Get("X-Appwrite-Project"); p != "" && p != s.o.Project {
		return false
	}
	if r.URL.RawQuery == "" {
		return true // spares parsing a query on every session check
	}
	if p := r.URL.Query().Get("project"); p != "" && p != s.o.Project {
		return false
	}
	return true
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /v1/account/sessions/oauth2/{provider}", s.startOAuth2Session)
	m.HandleFunc("GET /v1/account/tokens/oauth2/{provider}", s.startOAuth2Token)
	m.HandleFunc("GET /v1/oauth2/bind/{handle}", s.bindLogin)
	m.HandleFunc("GET /v1/account/sessions/oauth2/callback/{provider}/{project}", s.callback)
	m.HandleFunc("POST /v1/account/sessions/oauth2/callback/{provider}/{project}", s.callback)
	m.HandleFunc("POST /v1/account/sessions/token", s.createSessionFromToken)
	m.HandleFunc("POST /v1/account/sessions/oauth2/backchannel/{provider}/{project}", s.backchannelLogout)
	m.HandleFunc("POST /v1/account/sessions/{id}/logout", s.withSession(s.signOut))

	m.HandleFunc("GET /v1/account", s.withSession(s.getAccount))
	m.HandleFunc("GET /v1/account/identities", s.withSession(s.listIdentities))
	m.HandleFunc("DELETE /v1/account/identities/{id}", s.withSession(s.deleteOwnIdentity))
	m.HandleFunc("POST /v1/account/jwts", s.withSession(s.createAccountJWT))
	m.HandleFunc("GET /v1/account/prefs", s.withSession(s.getAccountPrefs))
	m.HandleFunc("PATCH /v1/account/prefs", s.withSession(s.updateAccountPrefs))
	m.HandleFunc("PATCH /v1/account/name", s.withSession(s.updateAccountName))
	m.HandleFunc("GET /v1/account/sessions", s.withSession(s.listSessions))
	m.HandleFunc("GET /v1/account/sessions/{id}", s.withSession(s.getSession))
	m.HandleFunc("PATCH /v1/account/sessions/{id}", s.withSession(s.updateSession))
	m.HandleFunc("DELETE /v1/account/sessions/{id}", s.withSession(s.deleteSession))
	m.HandleFunc("DELETE /v1/account/sessions", s.withSession(s.deleteSessions))

	// API-key scopes are Appwrite's (app/controllers/api/users.php):
	// users.read to read, users.write to change. Creating a session for a
	// user lets the key act as that user, so it needs users.write; newer
	// Appwrite versions also accept sessions.write there, which the bridge
	// deliberately does not (an operator reads it as "may end sessions").
	m.HandleFunc("GET /v1/users", s.withKey(config.ScopeUsersRead, s.listUsers))
	m.HandleFunc("GET /v1/users/identities", s.withKey(config.ScopeUsersRead, s.listAllIdentities))
	m.HandleFunc("GET /v1/users/{userId}", s.withKey(config.ScopeUsersRead, s.getUser))
	m.HandleFunc("DELETE /v1/users/{userId}", s.withKey(config.ScopeUsersWrite, s.deleteUser))
	m.HandleFunc("PATCH /v1/users/{userId}/status", s.withKey(config.ScopeUsersWrite, s.updateUserStatus))
	m.HandleFunc("PATCH /v1/users/{userId}/name", s.withKey(config.ScopeUsersWrite, s.updateUserName))
	m.HandleFunc("GET /v1/users/{userId}/prefs", s.withKey(config.ScopeUsersRead, s.getUserPrefs))
	m.HandleFunc("PATCH /v1/users/{userId}/prefs", s.withKey(config.ScopeUsersWrite, s.updateUserPrefs))
	m.HandleFunc("POST /v1/users/{userId}/jwts", s.withKey(config.ScopeUsersWrite, s.createUserJWT))
	m.HandleFunc("GET /v1/users/{userId}/sessions", s.withKey(config.ScopeUsersRead, s.listUserSessions))
	m.HandleFunc("POST /v1/users/{userId}/sessions", s.withKey(config.ScopeUsersWrite, s.createUserSession))
	// DELETE /v1/users/{userId}/sessions and /v1/users/identities/{id}.
	m.HandleFunc("DELETE /v1/users/{userId}/{sub}", s.deleteUserSub)
	m.HandleFunc("DELETE /v1/users/{userId}/sessions/{id}", s.withKey(config.ScopeUsersWrite, s.deleteUserSession))

	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	m.Handle("GET /readyz", Readyz(s.svc, s.log))
	if s.o.Metrics != nil {
		m.Handle("GET /metrics", s.o.Metrics)
	}
	m.HandleFunc("GET /{$}", s.loginPage)
	m.HandleFunc("GET /account", s.accountPage)
	m.HandleFunc("POST /account/sign-out", s.signOutPage)
	m.HandleFunc("POST /account/sign-out-others", s.signOutOthersPage)
	m.HandleFunc("POST /account/sessions/{id}/revoke", s.revokePage)
	// The form routes opened as a page (a bookmark, a reload after the
	// redirect) lead back to the account page instead of a 405.
	for _, p := range []string{"/account/sign-out", "/account/sign-out-others", "/account/sessions/{id}/revoke"} {
		m.Handle("GET "+p, http.RedirectHandler("/account", http.StatusSeeOther))
	}
	m.Handle("GET /assets/", assets)
	m.Handle("GET /assets/brand.css", serveBytes("text/css; charset=utf-8", []byte(s.brandCSS)))
	if len(s.o.Branding.Logo) > 0 {
		m.Handle("GET /assets/logo", serveBytes(s.o.Branding.LogoType, s.o.Branding.Logo))
	}
	m.HandleFunc("/", s.notFound)
	s.mux = m
}

// readyzBody is the JSON of /readyz.
type readyzBody struct {
	Status    string                  `json:"status"`
	Reason    string                  `json:"reason,omitempty"`
	Providers []bridge.ProviderHealth `json:"providers,omitempty"`
	// Misconfigured: parked providers and the error code that parked them.
	Misconfigured map[string]string `json:"providers_misconfigured,omitempty"`
}

// Readyz answers readiness: 503 while the store is unreachable or (for a
// bounded time after start) a provider's first discovery is pending;
// otherwise 200, listing failing providers, because one provider must not
// take the others out of service.
func Readyz(svc ReadinessChecker, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rd := svc.Readiness(r.Context())
		if !rd.Ready {
			log.Warn("not ready", "reason", rd.Reason)
			writeJSON(w, http.StatusServiceUnavailable, readyzBody{Status: "unavailable", Reason: rd.Reason,
				Providers: rd.Providers, Misconfigured: rd.Parked})
			return
		}
		status := "ok"
		if len(rd.Providers) > 0 {
			status = "degraded"
		}
		writeJSON(w, http.StatusOK, readyzBody{Status: status, Providers: rd.Providers, Misconfigured: rd.Parked})
	})
}

// apiKeyFor returns the API key a request presents, comparing hashes in
// constant time against every configured key.
func (s *Server) apiKeyFor(r *http.Request) (apiKey, bool) {
	v := r.Header.Get("X-Appwrite-Key")
	if v == "" {
		return apiKey{}, false
	}
	h := sha256.Sum256([]byte(v))
	var found apiKey
	ok := false
	for _, k := range s.apiKeys {
		if subtle.ConstantTimeCompare(h[:], k.hash[:]) == 1 {
			found, ok = k, true
		}
	}
	return found, ok
}

// maxUserAgent bounds the User-Agent a session's device fields are
// parsed from (and so what a client can make the bridge store).
const maxUserAgent = 512

// clientMeta describes the caller for a new session (see clientIP).
func (s *Server) clientMeta(r *http.Request) bridge.ClientMeta {
	return bridge.ClientMeta{IP: s.clientIP(r), UserAgent: truncate(r.UserAgent(), maxUserAgent)}
}
