package httpapi

import (
	"bytes"
	"io/fs"
	"net/http"
	"net/url"
	"strings"

	"github.com/sessionbridge/sessionbridge/bridge"
	"github.com/sessionbridge/sessionbridge/templates"
)

// pageData is what every page template receives.
type pageData struct {
	Title     string
	Dev       bool
	Providers []providerLinkView
	User      userView
	Sessions  []sessionRow
	Message   string
	Type      string
	Code      int
}

type providerLinkView struct {
	Key, DisplayName, Href string
}

type userView struct{ ID, Name, Email string }

type sessionRow struct {
	ID, Provider, Device, Client, IP, Country, Created, TokenExpiry string
	Current                                                         bool
}

const pageCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"

// renderPage executes a page into a buffer first, so a template error
// never produces half a page.
func (s *Server) renderPage(w http.ResponseWriter, r *http.Request, status int, name string, data pageData) {
	data.Dev = s.o.Dev
	var buf bytes.Buffer
	if err := s.o.Templates.ExecuteTemplate(&buf, name, data); err != nil {
		s.log.Error("render page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, err error) {
	e := bridge.AsError(err)
	code := e.Code
	if code < 400 {
		code = http.StatusBadRequest
	}
	s.renderPage(w, r, code, "error.html", pageData{Title: "Error", Message: e.Message, Type: e.Type, Code: code})
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	links := make([]providerLinkView, 0, len(s.o.Providers))
	success := url.QueryEscape(s.o.PublicURL + "/account")
	for _, p := range s.o.Providers {
		links = append(links, providerLinkView{Key: p.Key, DisplayName: orDefault(p.DisplayName, p.Key),
			Href: "/v1/account/sessions/oauth2/" + url.PathEscape(p.Key) + "?success=" + success})
	}
	s.renderPage(w, r, http.StatusOK, "login.html", pageData{Title: "Sign in", Providers: links})
}

// accountPage shows the signed-in user and their sessions; without a
// valid session it sends the browser to the login page.
func (s *Server) accountPage(w http.ResponseWriter, r *http.Request) {
	c, err := s.authenticate(r)
	if err != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
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
	rows := make([]sessionRow, 0, len(list))
	for _, sess := range list {
		c := sess.Client
		rows = append(rows, sessionRow{
			ID: sess.ID, Provider: sess.Provider, Current: sess.ID == cur.ID,
			Device:      joinNonEmpty(c.DeviceName, c.DeviceBrand, c.DeviceModel, "·", c.OSName, c.OSVersion),
			Client:      joinNonEmpty(c.ClientName, c.ClientVersion),
			IP:          c.IP,
			Country:     orDefault(c.CountryName, "Unknown"),
			Created:     appwriteTime(sess.CreatedAt),
			TokenExpiry: appwriteTime(sess.AccessTokenExpiry),
		})
	}
	s.renderPage(w, r, http.StatusOK, "account.html", pageData{Title: "Account",
		User: userView{ID: u.ID, Name: u.Name, Email: u.Email}, Sessions: rows})
}

func joinNonEmpty(parts ...string) string {
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Trim(strings.Join(out, " "), " ·")
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
