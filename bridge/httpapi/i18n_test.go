package httpapi

import (
	"html"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge"
	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/templates"
)

var (
	tagRE        = regexp.MustCompile(`(?s)<[^>]*>`)
	attrTextRE   = regexp.MustCompile(`\s(?:title|aria-label|alt|placeholder|data-t-[a-z-]+)="([^"]*)"`)
	englishPart  = regexp.MustCompile(`(?s)<[a-z]+ lang="en">.*?</[a-z]+>`)
	placeholders = regexp.MustCompile(`\{[a-z]+\}`)
)

// visibleText is what a user reads or hears on a page: its text and the
// attributes shown or spoken (title, aria-label, alt, the script's words).
// Parts marked lang="en" (technical details) are left out.
func visibleText(page string) string {
	page = englishPart.ReplaceAllString(page, " ")
	var b strings.Builder
	for _, m := range attrTextRE.FindAllStringSubmatch(page, -1) {
		b.WriteString(html.UnescapeString(m[1]) + "\n")
	}
	b.WriteString(html.UnescapeString(tagRE.ReplaceAllString(page, "\n")))
	return b.String()
}

// germanPages renders every page and state in German.
func germanPages(t *testing.T) map[string]string {
	t.Helper()
	s := newTestServer(t, func(o *Options) { o.Dev = true })
	now := time.Now()
	s.o.Now = func() time.Time { return now }
	de := func(path string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.Header.Set("Accept-Language", "de-DE,de;q=0.9,en;q=0.8")
		r.Header.Set("Accept", browserAccept)
		return r
	}
	render := func(f func(w http.ResponseWriter, r *http.Request), path string) string {
		rec := httptest.NewRecorder()
		f(rec, de(path))
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Fatalf("%s: %s", path, ct)
		}
		return rec.Body.String()
	}
	pages := map[string]string{}
	for _, msg := range []string{"signed_out", "revoked", "login_failed"} {
		pages["login ?msg="+msg] = render(s.ServeHTTP, "/?msg="+msg)
	}
	pages["not found"] = render(s.ServeHTTP, "/no/such/page")
	pages["error"] = render(func(w http.ResponseWriter, r *http.Request) {
		s.errorPage(w, r, bridge.ErrArgument("Invalid `success` param."))
	}, "/v1/account/sessions/oauth2/gh")
	pages["login failed"] = render(func(w http.ResponseWriter, r *http.Request) {
		r.SetPathValue("provider", "gh")
		s.fail(w, r, "", &bridge.Error{Type: bridge.TypeOAuth2ProviderError, Kind: bridge.KindProviderFailed, Message: "refused", ProviderDescription: "access_denied"})
	}, "/v1/account/sessions/oauth2/callback/gh/default")

	sealed := []byte("x")
	client := store.Client{ClientName: "Chrome", OSName: "Windows", CountryCode: "--", IP: "192.0.2.1"}
	list := []store.Session{
		{ID: "cur", Provider: "gh", CreatedAt: now.Add(-72 * time.Hour), UpdatedAt: now.Add(-time.Minute), Expire: now.Add(300 * 24 * time.Hour),
			AccessTokenSealed: sealed, AccessTokenExpiry: now.Add(118 * time.Minute), RefreshAt: now.Add(110 * time.Minute), Client: client},
		{ID: "failing", Provider: "corp", CreatedAt: now.Add(-time.Hour), UpdatedAt: now.Add(-time.Hour), Expire: now.Add(time.Hour),
			AccessTokenSealed: sealed, AccessTokenExpiry: now.Add(time.Minute), RefreshAt: now, RefreshFailures: 3, Client: client},
		{ID: "plain", Provider: "gh", CreatedAt: now, UpdatedAt: now, Expire: now.Add(time.Hour), AccessTokenSealed: sealed, AccessTokenExpiry: now.Add(time.Hour)},
		{ID: "expired", Provider: "gh", CreatedAt: now, UpdatedAt: now, Expire: now.Add(time.Hour), AccessTokenSealed: sealed, AccessTokenExpiry: now.Add(-time.Hour)},
		{ID: "noexp", Provider: "gh", CreatedAt: now, UpdatedAt: now, Expire: now.Add(time.Hour), AccessTokenSealed: sealed},
		{ID: "none", Provider: "gh", CreatedAt: now, UpdatedAt: now, Expire: now.Add(time.Hour)},
	}
	for _, msg := range []string{"", "revoked_one", "others_signed_out", "revoke_failed", "action_failed"} {
		pages["account ?msg="+msg] = render(func(w http.ResponseWriter, r *http.Request) {
			d := s.newPage(r, "account", "account.title")
			d.User = userView{ID: "u1", Name: "Ada Lovelace", Email: "ada@example.com", Initials: "AL"}
			d.Sessions = s.sessionRows(list, "cur", "failing", d.T)
			d.HasOthers = true
			if m, ok := accountMessages[msg]; ok {
				d.Notice = &notice{Kind: m.kind, Text: d.T[m.key]}
			}
			s.renderPage(w, r, http.StatusOK, "account.html", d)
		}, "/account")
	}
	return pages
}

// TestGermanPagesHaveNoEnglish renders every page in German and looks for
// any English page string (or a part of one between placeholders) left.
func TestGermanPagesHaveNoEnglish(t *testing.T) {
	all, err := templates.Catalogs()
	if err != nil {
		t.Fatal(err)
	}
	en, de := all["en"], all["de"]
	type probe struct {
		key string
		re  *regexp.Regexp
	}
	var probes []probe
	for k, v := range en {
		if de[k] == v {
			continue // the same in both languages, e.g. "in {d}"
		}
		for _, part := range placeholders.Split(v, -1) {
			part = strings.Trim(part, " .,:;?!—()")
			if len([]rune(part)) < 3 {
				continue
			}
			probes = append(probes, probe{k, regexp.MustCompile(`(^|[^\pL])` + regexp.QuoteMeta(part) + `($|[^\pL])`)})
		}
	}
	for name, page := range germanPages(t) {
		if !strings.Contains(page, `<html lang="de">`) {
			t.Errorf("%s: not marked as German", name)
		}
		text := visibleText(page)
		if strings.Contains(text, "[missing:") {
			t.Errorf("%s: a page string is missing", name)
		}
		for _, p := range probes {
			if m := p.re.FindString(text); m != "" {
				t.Errorf("%s: English left (%s): %q", name, p.key, strings.TrimSpace(m))
			}
		}
	}
	// The German strings really are there.
	pages := germanPages(t)
	for name, want := range map[string]string{
		"login ?msg=signed_out": "Sie wurden abgemeldet.",
		"account ?msg=":         "Erneuerung schlägt fehl — bitte bald neu anmelden",
		"not found":             "Seite nicht gefunden",
		"login failed":          "Meldung von GitHub:",
	} {
		if !strings.Contains(visibleText(pages[name]), want) {
			t.Errorf("%s: %q not shown", name, want)
		}
	}
	if !strings.Contains(pages["account ?msg="], "Sitzung auf Chrome, Windows widerrufen") {
		t.Errorf("the revoke button's accessible name is not German")
	}
}

func TestLanguageChoice(t *testing.T) {
	pt, err := newPageText()
	if err != nil {
		t.Fatal(err)
	}
	for header, want := range map[string]string{
		"":                          "en",
		"de":                        "de",
		"de-AT,de;q=0.9":            "de",
		"fr-FR,fr;q=0.9":            "en",
		"fr;q=0.9,de;q=0.8":         "de",
		"en-US,en;q=0.9,de;q=0.8":   "en",
		"garbage;;;q=x":             "en",
		strings.Repeat("de-", 2000): "en",
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Accept-Language", header)
		if got, _ := pt.forRequest(r); got != want {
			t.Errorf("Accept-Language %q: %s, want %s", header, got, want)
		}
	}
}
