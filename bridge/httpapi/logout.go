package httpapi

import (
	"errors"
	"mime"
	"net/http"
	"strings"

	"github.com/sessionbridge/sessionbridge/bridge"
)

// maxLogoutBody bounds a back-channel logout request: one JWT.
const maxLogoutBody = 64 << 10

// backchannelLogout receives a provider's logout token (OpenID Connect
// Back-Channel Logout 1.0 §2.5, §2.8): form-encoded logout_token, 200
// when the sessions it names are ended (also when it names none we
// know), 400 with an OAuth error body when the token is refused. No
// cookie is read or set, and nothing is cached.
func (s *Server) backchannelLogout(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	provider := r.PathValue("provider")
	if r.PathValue("project") != s.o.Project {
		oauthError(w, http.StatusBadRequest, "invalid_request", "unknown project")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxLogoutBody)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "the body could not be read")
		return
	}
	if len(r.PostForm["logout_token"]) != 1 {
		oauthError(w, http.StatusBadRequest, "invalid_request", "exactly one logout_token is required")
		return
	}
	_, err := s.svc.BackchannelLogout(r.Context(), provider, r.PostForm.Get("logout_token"))
	var le *bridge.LogoutError
	switch {
	case errors.As(err, &le) && le.Unavailable:
		s.log.Warn("back-channel logout could not be verified now", "provider", provider, "err", err)
		oauthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", le.Reason)
	case errors.As(err, &le):
		s.log.Warn("back-channel logout refused", "provider", provider, "reason", le.Reason)
		oauthError(w, http.StatusBadRequest, "invalid_request", le.Reason)
	case err != nil:
		s.log.Error("back-channel logout failed", "provider", provider, "err", err)
		oauthError(w, http.StatusInternalServerError, "server_error", "the sessions could not be ended; try again")
	default:
		w.WriteHeader(http.StatusOK)
	}
}

// oauthError writes an RFC 6749 §5.2-style error body.
func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// signOut ends a session like DELETE /v1/account/sessions/{id} and
// answers where to send the browser to sign out at the provider too
// (RP-initiated logout): {"providerLogoutUrl": URL}, "" when the
// provider has no logout endpoint or its configuration does not enable
// it. The app navigates there; the provider sends the browser back to
// the login page with ?msg=signed_out.
func (s *Server) signOut(w http.ResponseWriter, r *http.Request, c caller) {
	id := sessionID(r, c)
	pl, err := s.svc.SignOut(r.Context(), c.session.UserID, id, s.postLogoutRedirectURI())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if id == c.session.ID {
		http.SetCookie(w, s.sessionCookie("", c.session.Expire))
		s.setFallbackCookie(w, r, "")
	}
	w.Header().Set("Cache-Control", "no-store")
	out := signOutJSON{ProviderLogoutURL: pl.URL}
	if pl.Action != "" {
		out.ProviderLogoutForm = &logoutFormJSON{Action: pl.Action, Params: pl.Params}
	}
	writeJSON(w, http.StatusOK, out)
}

// signOutJSON is the answer of POST /v1/account/sessions/{id}/logout.
type signOutJSON struct {
	ProviderLogoutURL  string          `json:"providerLogoutUrl"`
	ProviderLogoutForm *logoutFormJSON `json:"providerLogoutForm"`
}

// logoutFormJSON is the provider logout as a form POST.
type logoutFormJSON struct {
	Action string            `json:"action"`
	Params map[string]string `json:"params"`
}

// logoutPageCSP widens the sign-out page's form-action to the provider's
// logout endpoint, so its form may post there (and only there); otherwise
// it is the pages' own policy.
func (s *Server) logoutPageCSP(w http.ResponseWriter, provider string) {
	if origin := s.svc.ProviderLogoutOrigin(provider); origin != "" {
		w.Header().Set("Content-Security-Policy", strings.Replace(pageCSP, "form-action 'self'", "form-action 'self' "+origin, 1))
	}
}

// postLogoutRedirectURI is where a provider sends the browser after
// RP-initiated logout: the login page with the signed-out message. It
// must be registered at the provider.
func (s *Server) postLogoutRedirectURI() string { return s.o.PublicURL + "/?msg=signed_out" }
