package httpapi

import (
	"bytes"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"

	"github.com/munnerz/goautoneg"

	"github.com/sessionbridge/sessionbridge/bridge"
	"github.com/sessionbridge/sessionbridge/templates"
)

// pageData is what every page template receives.
type pageData struct {
	Page      string // login, account or error: a body class
	Title     string
	Lang      string
	T         map[string]string // the page strings in Lang (templates: {{tr .T "key"}})
	Brand     brandView
	Notice    *notice
	Providers []providerLinkView
	User      userView
	Sessions  []sessionRow
	HasOthers bool
	Error     errorView
	Logout    logoutView
}

// logoutView is the provider's logout form (RP-initiated logout), posted
// by the page that follows Sign out.
type logoutView struct {
	Provider string // display name
	Action   string
	Params   map[string]string
}

// notice is the message area of a page: a fixed, translated text, and for
// a failed login the provider's own description (untrusted, escaped).
type notice struct {
	Kind        string // info or error
	Text        string
	DetailLabel string
	Detail      string
}

// errorView is what the error page shows.
type errorView struct {
	Heading, Summary string
	Detail           string // the API message (English), under "technical details"
	Type             string
	Code             int
	// ProviderSaid is the provider's own words about a failed login and
	// ProviderSaidLabel their label (see providerSaid); "" for none.
	ProviderSaid, ProviderSaidLabel string
}

type providerLinkView struct {
	Key, DisplayName, Href, Icon string
}

const pageCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"

// newPage starts the data of a page in the request's language.
func (s *Server) newPage(r *http.Request, page, titleKey string) pageData {
	lang, t := s.text.forRequest(r)
	return pageData{Page: page, Lang: lang, T: t, Title: templates.Translate(t, titleKey), Brand: s.brandView()}
}

// renderPage executes a page into a buffer first, so a template error
// never produces half a page.
func (s *Server) renderPage(w http.ResponseWriter, r *http.Request, status int, name string, data pageData) {
	var buf bytes.Buffer
	if err := s.pages.ExecuteTemplate(&buf, name, data); err != nil {
		s.log.Error("render page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	body := buf.Bytes()
	if s.o.Dev {
		body = withDevNotice(body, templates.Translate(data.T, "dev.notice"))
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	if h.Get("Content-Security-Policy") == "" { // a page may have widened it (logoutPageCSP)
		h.Set("Content-Security-Policy", pageCSP)
	}
	h.Set("X-Frame-Options", "DENY")
	// Same-origin, not no-referrer: under no-referrer a browser sends
	// "Origin: null" with the page's own forms, which the cross-site check
	// refuses.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Vary", "Accept-Language")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// withDevNotice puts the development-mode notice first in the body. It is
// added here, after the templates ran, so no template override can drop it.
func withDevNotice(page []byte, text string) []byte {
	banner := []byte(`<p class="devbanner" id="devbanner" role="note">` + template.HTMLEscapeString(text) + `</p>`)
	at := 0
	if i := bytes.Index(bytes.ToLower(page), []byte("<body")); i >= 0 {
		if j := bytes.IndexByte(page[i:], '>'); j >= 0 {
			at = i + j + 1
		}
	}
	out := make([]byte, 0, len(page)+len(banner)+1)
	out = append(out, page[:at]...)
	out = append(out, '\n')
	out = append(out, banner...)
	return append(out, page[at:]...)
}

// prefersHTML reports whether the client ranks text/html above JSON in
// Accept: a browser navigation does, fetch() with */* and the SDKs do not.
func prefersHTML(r *http.Request) bool {
	accept := r.Header.Get("Accept")
	if accept == "" {
		return false
	}
	return goautoneg.Negotiate(accept, []string{"application/json", "text/html"}) == "text/html"
}

func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, err error) {
	e := bridge.AsError(err)
	code := status(e)
	if code < 400 {
		code = http.StatusBadRequest
	}
	d := s.newPage(r, "error", "error.title")
	summary, ok := d.T["error.type."+e.Type]
	if !ok {
		summary = d.T["error.type.other"]
	}
	d.Error = errorView{Heading: d.T["error.heading"], Summary: summary, Detail: e.Message, Type: e.Type, Code: code}
	d.Error.ProviderSaidLabel, d.Error.ProviderSaid = s.providerSaid(r, e, d.T)
	s.renderPage(w, r, code, "error.html", d)
}

// notFound answers an unknown path: a page for browsers, Appwrite's JSON
// for everyone else.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	if !prefersHTML(r) {
		s.writeError(w, r, errNotFound)
		return
	}
	d := s.newPage(r, "error", "error.not_found.title")
	d.Error = errorView{Heading: d.T["error.not_found.title"], Summary: d.T["error.not_found.text"], Type: errNotFound.Type, Code: http.StatusNotFound}
	s.renderPage(w, r, http.StatusNotFound, "error.html", d)
}

// loginMessages are the fixed messages other routes send the browser to
// the login page with (/?msg=...).
var loginMessages = map[string]string{
	"signed_out":   "login.msg.signed_out",
	"revoked":      "login.msg.revoked",
	"login_failed": "login.msg.login_failed",
}

// loginHref is the login page with a fixed message.
func loginHref(msg string) string { return "/?msg=" + url.QueryEscape(msg) }

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	d := s.loginData(r)
	msg := r.URL.Query().Get("msg")
	if key, ok := loginMessages[msg]; ok {
		kind := "info"
		if msg == "login_failed" {
			kind = "error"
		}
		d.Notice = &notice{Kind: kind, Text: d.T[key]}
	}
	s.renderPage(w, r, http.StatusOK, "login.html", d)
}

func (s *Server) loginData(r *http.Request) pageData {
	d := s.newPage(r, "login", "login.title")
	success := url.QueryEscape(s.o.PublicURL + "/account")
	d.Providers = make([]providerLinkView, 0, len(s.o.Providers))
	for _, p := range s.o.Providers {
		d.Providers = append(d.Providers, providerLinkView{Key: p.Key, DisplayName: s.displayName(p.Key),
			Icon: iconFor(s.icons, p.Type, p.Key),
			Href: "/v1/account/sessions/oauth2/" + url.PathEscape(p.Key) + "?success=" + success})
	}
	return d
}

// loginFailedPage is the answer to a failed login that has no failure URL:
// the login page again, with what went wrong and, when the provider said
// why (only ever set after the state was validated), its words as text.
func (s *Server) loginFailedPage(w http.ResponseWriter, r *http.Request, e *bridge.Error) {
	d := s.loginData(r)
	summary, ok := d.T["error.type."+e.Type]
	if !ok {
		summary = d.T["error.type.other"]
	}
	n := &notice{Kind: "error", Text: d.T["login.failed"] + " " + summary}
	n.DetailLabel, n.Detail = s.providerSaid(r, e, d.T)
	d.Notice = n
	s.renderPage(w, r, status(e), "login.html", d)
}

// maxProviderSaid bounds the provider's words on a page, in characters.
// The domain already cleans and bounds them; a page does not rely on it.
const maxProviderSaid = 300

// providerSaid is the one way a page (the login page after a failed
// login, or the error page) shows the provider's own description of a
// failed login, e.g. that the user cancelled: only when the error carries
// one, which the domain sets only after the callback's state validated
// (anyone can craft a callback URL); as text, which the templates escape;
// cut to maxProviderSaid characters; labelled with the provider's display
// name. Both results are "" when there is nothing to show.
func (s *Server) providerSaid(r *http.Request, e *bridge.Error, t map[string]string) (label, words string) {
	words = e.ProviderDescription
	if words == "" {
		return "", ""
	}
	if runes := []rune(words); len(runes) > maxProviderSaid {
		words = string(runes[:maxProviderSaid-1]) + "…"
	}
	return templates.Translate(t, "login.provider_said", "provider", s.displayName(r.PathValue("provider"))), words
}

// displayName is a provider's label: its display_name, else its key.
func (s *Server) displayName(key string) string {
	for _, p := range s.o.Providers {
		if p.Key == key {
			return orDefault(p.DisplayName, p.Key)
		}
	}
	return key
}

// assets serves the embedded static files, and nothing else: no
// directory listings.
var assets = http.StripPrefix("/assets/", filesOnly(templates.Assets()))

// filesOnly serves the regular files of fsys; a directory or a missing
// name is a plain 404 (http.FileServerFS would list directories).
func filesOnly(fsys fs.FS) http.Handler {
	files := http.FileServerFS(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, err := fs.Stat(fsys, strings.TrimPrefix(r.URL.Path, "/"))
		if err != nil || !st.Mode().IsRegular() {
			http.NotFound(w, r)
			return
		}
		files.ServeHTTP(w, r)
	})
}
