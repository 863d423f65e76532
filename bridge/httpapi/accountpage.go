package httpapi

import (
	"errors"
	"net/http"

	"github.com/sessionbridge/sessionbridge/bridge"
	"github.com/sessionbridge/sessionbridge/bridge/lifecycle"
)

// accountMessages are the fixed messages the account page's own forms
// come back with (/account?msg=...).
var accountMessages = map[string]struct{ key, kind string }{
	"revoked_one":       {"account.msg.revoked_one", "info"},
	"others_signed_out": {"account.msg.others_signed_out", "info"},
	"revoke_failed":     {"account.msg.revoke_failed", "error"},
	"action_failed":     {"account.msg.action_failed", "error"},
}

// accountPage shows the signed-in user and their sessions; without a
// valid session it sends the browser to the login page. ?revoke=ID shows
// the confirmation for revoking that session (a plain link: it works
// without the script and with the keyboard alone).
func (s *Server) accountPage(w http.ResponseWriter, r *http.Request) {
	c, err := s.authenticate(r)
	if err != nil {
		s.toLogin(w, r, err)
		return
	}
	cur := c.session
	u, err := s.svc.User(r.Context(), cur.UserID)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	list, err := s.svc.Sessions(r.Context(), cur.UserID)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	d := s.newPage(r, "account", "account.title")
	d.User = userView{ID: u.ID, Name: u.Name, Email: u.Email, Initials: initials(u.Name, u.Email)}
	d.Sessions = s.sessionRows(list, cur.ID, r.URL.Query().Get("revoke"), d.T)
	d.HasOthers = len(list) > 1
	if m, ok := accountMessages[r.URL.Query().Get("msg")]; ok {
		d.Notice = &notice{Kind: m.kind, Text: d.T[m.key]}
	}
	s.renderPage(w, r, http.StatusOK, "account.html", d)
}

// toLogin sends a browser without a valid session to the login page; one
// whose cookie no longer works learns that its session ended. A failure
// of the bridge itself (the store is down) is an error page instead.
func (s *Server) toLogin(w http.ResponseWriter, r *http.Request, err error) {
	if status(bridge.AsError(err)) >= 500 {
		s.errorPage(w, r, err)
		return
	}
	target := "/"
	if ck, err := r.Cookie(s.cookieName); err == nil && ck.Value != "" {
		target = loginHref("revoked")
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// signOutPage ends the current session (the account page's Sign out form)
// and shows the login page with "You have been signed out".
// When the session's provider has RP-initiated logout on, a page that posts
// the provider's logout form comes in between; the provider then sends the
// browser back to the login page with the same message.
func (s *Server) signOutPage(w http.ResponseWriter, r *http.Request) {
	c, err := s.authenticate(r)
	var pl bridge.ProviderLogout
	if err == nil {
		pl, err = s.svc.SignOut(r.Context(), c.session.UserID, c.session.ID, s.postLogoutRedirectURI())
		if err != nil && !errors.Is(err, bridge.ErrSessionNotFound()) {
			s.errorPage(w, r, err)
			return
		}
	}
	http.SetCookie(w, s.sessionCookie("", s.o.Now()))
	if pl.Action != "" {
		s.providerLogoutPage(w, r, c.session.Provider, pl)
		return
	}
	http.Redirect(w, r, loginHref("signed_out"), http.StatusSeeOther)
}

// providerLogoutPage posts the provider's logout form (its script submits
// it at once; without script, its button). Its CSP lets forms go to that
// provider's origin, and to no other.
func (s *Server) providerLogoutPage(w http.ResponseWriter, r *http.Request, provider string, pl bridge.ProviderLogout) {
	d := s.newPage(r, "logout", "logout.title")
	d.Logout = logoutView{Provider: s.displayName(provider), Action: pl.Action, Params: pl.Params}
	s.logoutPageCSP(w, provider)
	w.Header().Set("Cache-Control", "no-store")
	s.renderPage(w, r, http.StatusOK, "logout.html", d)
}

// revokePage ends one of the user's other sessions after the account
// page's confirmation.
func (s *Server) revokePage(w http.ResponseWriter, r *http.Request) {
	c, err := s.authenticate(r)
	if err != nil {
		s.toLogin(w, r, err)
		return
	}
	id := r.PathValue("id")
	if id == c.session.ID {
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return
	}
	err = s.svc.DeleteSession(r.Context(), c.session.UserID, id, lifecycle.SignedOut)
	switch {
	case errors.Is(err, bridge.ErrSessionNotFound()):
		http.Redirect(w, r, "/account?msg=revoke_failed", http.StatusSeeOther)
	case err != nil:
		s.errorPage(w, r, err)
	default:
		http.Redirect(w, r, "/account?msg=revoked_one", http.StatusSeeOther)
	}
}

// signOutOthersPage ends every session of the user but the current one.
func (s *Server) signOutOthersPage(w http.ResponseWriter, r *http.Request) {
	c, err := s.authenticate(r)
	if err != nil {
		s.toLogin(w, r, err)
		return
	}
	list, err := s.svc.Sessions(r.Context(), c.session.UserID)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	for _, sess := range list {
		if sess.ID == c.session.ID {
			continue
		}
		err := s.svc.DeleteSession(r.Context(), c.session.UserID, sess.ID, lifecycle.SignedOut)
		if err != nil && !errors.Is(err, bridge.ErrSessionNotFound()) {
			s.errorPage(w, r, err)
			return
		}
	}
	http.Redirect(w, r, "/account?msg=others_signed_out", http.StatusSeeOther)
}
