package devissuer

import (
	"bytes"
	"html/template"
	"net/http"
)

// pages are the issuer's only HTML: a "who are you" form, an error page and
// an index. Every page says plainly that this is a fake issuer for
// development mode; html/template escapes every value.
var pages = template.Must(template.New("layout").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · sessionbridge development mode</title>
<style>
body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#222}
.banner{background:#fff3cd;border:1px solid #e0b400;padding:.75rem 1rem;border-radius:6px}
label{display:block;margin:.8rem 0 .2rem}
input[type=text],input[type=email]{width:100%;padding:.4rem;box-sizing:border-box}
.err{color:#a00}
button{margin:1rem .5rem 0 0;padding:.5rem 1rem}
code{background:#eee;padding:0 .2rem}
</style></head><body>
<p class="banner"><strong>sessionbridge development mode.</strong>
This is a fake OpenID Connect issuer built into sessionbridge for trying it out.
It checks no password: anyone can sign in as anyone. Never use it for real accounts.</p>
<h1>{{.Title}}</h1>
{{if .Message}}<p class="{{if .IsError}}err{{end}}">{{.Message}}</p>{{end}}
{{if .Form}}{{with .Req}}
<form method="post" action="authorize">
<input type="hidden" name="client_id" value="{{.ClientID}}">
<input type="hidden" name="redirect_uri" value="{{.RedirectURI}}">
<input type="hidden" name="response_type" value="{{.ResponseType}}">
{{if .ResponseMode}}<input type="hidden" name="response_mode" value="{{.ResponseMode}}">{{end}}
<input type="hidden" name="scope" value="{{.Scope}}">
<input type="hidden" name="state" value="{{.State}}">
<input type="hidden" name="nonce" value="{{.Nonce}}">
<input type="hidden" name="code_challenge" value="{{.Challenge}}">
<input type="hidden" name="code_challenge_method" value="{{.Method}}">
{{end}}{{with .User}}
<p>Who are you? The application <code>{{$.Req.ClientID}}</code> will receive this identity.</p>
<label for="email">Email</label>
<input type="email" id="email" name="email" value="{{.Email}}" required autofocus maxlength="254">
<label for="name">Name</label>
<input type="text" id="name" name="name" value="{{.Name}}" maxlength="200">
<label><input type="checkbox" name="email_verified" value="1"{{if .EmailVerified}} checked{{end}}> Email is verified</label>
{{end}}
<button type="submit" name="action" value="approve">Sign in</button>
<button type="submit" name="action" value="deny" formnovalidate>Cancel</button>
</form>
{{end}}
{{if .Index}}<p>Discovery document: <a href="{{.Index}}">{{.Index}}</a></p>{{end}}
</body></html>
`))

type pageData struct {
	Title   string
	Message string
	IsError bool
	Form    bool
	Req     authzRequest
	User    User
	Index   string
}

// render writes a page; it renders into a buffer first so a template error
// never leaves a half-written response.
func (i *Issuer) render(w http.ResponseWriter, status int, d pageData) {
	var buf bytes.Buffer
	if err := pages.Execute(&buf, d); err != nil {
		i.log.Error("devissuer: render page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (i *Issuer) loginPage(w http.ResponseWriter, status int, req authzRequest, u User, msg string) {
	i.render(w, status, pageData{Title: "Sign in", Message: msg, IsError: msg != "", Form: true, Req: req, User: u})
}

func (i *Issuer) errorPage(w http.ResponseWriter, status int, msg string) {
	i.render(w, status, pageData{Title: "Login error", Message: msg, IsError: true})
}

func (i *Issuer) handleIndex(w http.ResponseWriter, r *http.Request) {
	i.render(w, http.StatusOK, pageData{
		Title:   "Development OpenID Connect issuer",
		Message: "Applications sign users in here through the authorization code flow.",
		Index:   i.issuerURL(r) + "/.well-known/openid-configuration",
	})
}
