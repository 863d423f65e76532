package httpapi

import (
	"mime"
	"net/http"
	"strings"

	"github.com/sessionbridge/sessionbridge/bridge"
)

// Cross-site request refusal (login CSRF and its whole class).
//
// Every state-changing request (POST, PUT, PATCH, DELETE) that carries a
// browser's signal of another origin is refused before any handler runs:
// an Origin that is neither the bridge's own nor in redirect_allowlist, or
// Sec-Fetch-Site: cross-site without such an Origin. Server-side callers
// (node-appwrite, curl) send neither header and pass. Only the OAuth
// callback is exempt: Sign in with Apple's response_mode=form_post arrives
// as a cross-site POST by design, and its state binding (flow cookie plus
// single-use stored state) protects it.
//
// Go's http.CrossOriginProtection does nearly this, but it compares
// Origin with the request's Host rather than public_url (wrong behind a
// proxy that rewrites Host), and its trusted origins are exact strings,
// while redirect_allowlist has one-level wildcards. The check below is
// the same idea against the bridge's own notion of its origins.

// errCrossOrigin is Appwrite's general_access_forbidden.
var errCrossOrigin = &bridge.Error{Type: "general_access_forbidden", Kind: bridge.KindForbidden,
	Message: "Cross-origin requests from this origin are not allowed. Add the origin to redirect_allowlist, or call the API from a server."}

// errContentType refuses a body that is not JSON on the JSON API.
var errContentType = &bridge.Error{Type: bridge.TypeArgumentInvalid, Kind: bridge.KindUnsupportedFormat,
	Message: "The request body must be JSON (Content-Type: application/json)."}

// stateChanging reports whether the method may change state.
func stateChanging(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	}
	return true
}

// crossSiteRoutes are the path prefixes that accept cross-site POSTs and
// form bodies by design: the OAuth callback (Sign in with Apple's
// form_post) and back-channel logout (a provider's server POSTing a
// form-encoded logout_token, authenticated by its signature).
var crossSiteRoutes = []string{"/v1/account/sessions/oauth2/callback/", "/v1/account/sessions/oauth2/backchannel/"}

// exemptFromOriginCheck reports whether r is on one of crossSiteRoutes.
func exemptFromOriginCheck(r *http.Request) bool {
	for _, p := range crossSiteRoutes {
		if strings.HasPrefix(r.URL.Path, p) {
			return true
		}
	}
	return false
}

// crossOriginAllowed reports whether a state-changing request may proceed.
func (s *Server) crossOriginAllowed(r *http.Request) bool {
	if !stateChanging(r.Method) || exemptFromOriginCheck(r) {
		return true
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		return origin == s.origin || s.o.Allowlist.AllowsOrigin(origin)
	}
	return !strings.EqualFold(r.Header.Get("Sec-Fetch-Site"), "cross-site")
}

// jsonBodyAllowed reports whether a state-changing API request's body is
// JSON or absent. Appwrite's SDKs (appwrite 27.0.0, node-appwrite 27.1.0)
// send application/json on every Account and Users call; multipart is
// only used for file uploads, which the bridge has no route for. A form or
// text/plain body (what a cross-site <form> can send) is refused even
// from a server-side caller, so no other way into a handler remains.
func jsonBodyAllowed(r *http.Request) bool {
	if !stateChanging(r.Method) || !strings.HasPrefix(r.URL.Path, "/v1/") || exemptFromOriginCheck(r) {
		return true
	}
	if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
		return true
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// refuseCrossSite answers requests that fail either check; it returns
// false when the request was answered.
func (s *Server) refuseCrossSite(w http.ResponseWriter, r *http.Request) bool {
	if !s.crossOriginAllowed(r) {
		s.log.Debug("cross-origin request refused", "method", r.Method, "path", r.URL.Path,
			"origin", truncate(r.Header.Get("Origin"), 200), "sec_fetch_site", truncate(r.Header.Get("Sec-Fetch-Site"), 32))
		s.writeError(w, r, errCrossOrigin)
		return false
	}
	if !jsonBodyAllowed(r) {
		s.writeError(w, r, errContentType)
		return false
	}
	return true
}
