package devissuer

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sessionbridge/sessionbridge/internal/testenv/testlogin"
	"golang.org/x/oauth2"
)

// authzQuery is a valid authorization request's parameters.
func authzQuery(verifier string) url.Values {
	return url.Values{
		"client_id": {testlogin.ClientID}, "redirect_uri": {testlogin.RedirectURL}, "response_type": {"code"},
		"scope": {"openid email profile"}, "state": {"xyz"}, "nonce": {"n-1"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"},
	}
}

func getPage(t *testing.T, h *harness, q url.Values) (int, string, string) {
	t.Helper()
	resp, err := h.HTTP.Get(h.URL + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

func TestAuthorizeRefusesWithoutRedirect(t *testing.T) {
	h := newHarness(t, Options{RedirectURIs: []string{testlogin.RedirectURL}})
	v := oauth2.GenerateVerifier()
	for name, mutate := range map[string]func(url.Values){
		"unknown client":      func(q url.Values) { q.Set("client_id", "evil") },
		"no client":           func(q url.Values) { q.Del("client_id") },
		"unregistered uri":    func(q url.Values) { q.Set("redirect_uri", "https://evil.example/cb") },
		"no redirect uri":     func(q url.Values) { q.Del("redirect_uri") },
		"repeated parameter":  func(q url.Values) { q.Add("state", "again") },
		"client is <script>":  func(q url.Values) { q.Set("client_id", "<script>") },
		"redirect uri prefix": func(q url.Values) { q.Set("redirect_uri", testlogin.RedirectURL+"/more") },
	} {
		q := authzQuery(v)
		mutate(q)
		status, loc, body := getPage(t, h, q)
		if status != 400 || loc != "" {
			t.Errorf("%s: status %d location %q", name, status, loc)
		}
		if !strings.Contains(body, "sessionbridge development mode") || strings.Contains(body, "<script>") {
			t.Errorf("%s: page body %q", name, body)
		}
	}
}

func TestAuthorizeRedirectsErrors(t *testing.T) {
	h := newHarness(t, Options{})
	v := oauth2.GenerateVerifier()
	for name, tc := range map[string]struct {
		mutate func(url.Values)
		code   string
	}{
		"token response type": {func(q url.Values) { q.Set("response_type", "token") }, "unsupported_response_type"},
		"no response type":    {func(q url.Values) { q.Del("response_type") }, "invalid_request"},
		"no challenge":        {func(q url.Values) { q.Del("code_challenge") }, "invalid_request"},
		"plain challenge":     {func(q url.Values) { q.Set("code_challenge_method", "plain") }, "invalid_request"},
		"no method":           {func(q url.Values) { q.Del("code_challenge_method") }, "invalid_request"},
		"bad challenge":       {func(q url.Values) { q.Set("code_challenge", "abc") }, "invalid_request"},
		"form_post":           {func(q url.Values) { q.Set("response_mode", "form_post") }, "invalid_request"},
	} {
		q := authzQuery(v)
		tc.mutate(q)
		status, loc, _ := getPage(t, h, q)
		u, _ := url.Parse(loc)
		if status != 302 || !strings.HasPrefix(loc, testlogin.RedirectURL+"?") || u.Query().Get("error") != tc.code || u.Query().Get("state") != "xyz" || u.Query().Get("code") != "" {
			t.Errorf("%s: %d %q", name, status, loc)
		}
	}
	if h.iss.Stats().Logins != 0 {
		t.Error("a code was issued")
	}
}

func TestAuthorizeForm(t *testing.T) {
	h := startHarness(t, Options{})
	v := oauth2.GenerateVerifier()
	q := authzQuery(v)
	q.Set("state", `"><script>alert(1)</script>`)
	status, _, body := getPage(t, h, q)
	if status != 200 {
		t.Fatalf("form status %d", status)
	}
	for _, want := range []string{"sessionbridge development mode", "fake OpenID Connect issuer", `name="email"`, "&lt;script&gt;"} {
		if !strings.Contains(body, want) {
			t.Errorf("form lacks %q", want)
		}
	}
	if strings.Contains(body, "<script>") {
		t.Error("state not escaped")
	}

	// Submitting the form approves and redirects with a code.
	form := authzQuery(v)
	form.Set("email", "Bob@Example.com")
	form.Set("name", "Bob")
	form.Set("email_verified", "1")
	form.Set("action", "approve")
	r := h.postNoAuth("/authorize", form)
	loc, _ := url.Parse(r.Header.Get("Location"))
	if r.Status != 302 || loc.Query().Get("code") == "" || loc.Query().Get("state") != "xyz" {
		t.Fatalf("approve: %d %v", r.Status, r.Header)
	}
	tok := h.ExchangeRaw(loc.Query().Get("code"), v)
	c := testlogin.Claims(t, tok.Str("id_token"))
	if c["sub"] != defaultSubject("bob@example.com") || c["email"] != "Bob@Example.com" || c["name"] != "Bob" || c["email_verified"] != true || c["nonce"] != "n-1" {
		t.Errorf("claims %v", c)
	}

	form.Set("action", "deny")
	r = h.postNoAuth("/authorize", form)
	loc, _ = url.Parse(r.Header.Get("Location"))
	if r.Status != 302 || loc.Query().Get("error") != "access_denied" {
		t.Errorf("deny: %d %v", r.Status, loc)
	}

	form.Set("action", "approve")
	form.Set("email", "")
	if r := h.postNoAuth("/authorize", form); r.Status != 400 || !strings.Contains(r.Raw, `name="email"`) {
		t.Errorf("empty email: %d", r.Status)
	}
	// Hidden fields are checked again on POST.
	form.Set("email", "x@y.z")
	form.Set("client_id", "evil")
	if r := h.postNoAuth("/authorize", form); r.Status != 400 || r.Header.Get("Location") != "" {
		t.Errorf("forged client on POST: %d", r.Status)
	}

	q = authzQuery(v)
	q.Set("prompt", "none")
	_, l, _ := getPage(t, h, q)
	if u, _ := url.Parse(l); u.Query().Get("error") != "login_required" {
		t.Errorf("prompt=none: %q", l)
	}
}

func TestIndexPage(t *testing.T) {
	h := newHarness(t, Options{})
	r := h.Do(testlogin.MustRequest(t, http.MethodGet, h.URL+"/"))
	if r.Status != 200 || !strings.Contains(r.Raw, "sessionbridge development mode") {
		t.Errorf("index: %d", r.Status)
	}
}

func TestCallbackIss(t *testing.T) {
	v := oauth2.GenerateVerifier()
	for _, tc := range []struct {
		advertise bool
		fault     string
		want      string // "" means absent
	}{
		{false, "", ""},
		{true, "", "URL"},
		// The faults (CallbackIss) are tested with them, in testissuer.
	} {
		h := newHarness(t, Options{AdvertiseIssParameter: tc.advertise})
		want := tc.want
		if want == "URL" {
			want = h.URL
		}
		q := h.Authorize("s", "n", v).Query()
		if got, has := q.Get("iss"), q.Has("iss"); got != want || has != (want != "") {
			t.Errorf("advertise=%t fault=%q: iss=%q present=%t, want %q", tc.advertise, tc.fault, got, has, want)
		}
		// Errors carry iss too.
		eq := authzQuery(v)
		eq.Set("response_type", "token")
		_, loc, _ := getPage(t, h, eq)
		if u, _ := url.Parse(loc); u.Query().Get("iss") != want {
			t.Errorf("error redirect iss = %q, want %q", u.Query().Get("iss"), want)
		}
	}
}

func TestClientAuthentication(t *testing.T) {
	h := newHarness(t, Options{})
	exchange := h.ExchangeWith
	post := h.PostCredentials()
	if r := exchange(true, nil); r.Status != 200 {
		t.Errorf("basic: %d %s", r.Status, r.Raw)
	}
	if r := exchange(false, post); r.Status != 200 {
		t.Errorf("post: %d %s", r.Status, r.Raw)
	}
	testlogin.WantError(t, exchange(true, post), 400, "invalid_request") // two methods
	r := exchange(false, url.Values{"client_id": {testlogin.ClientID}, "client_secret": {"wrong"}})
	testlogin.WantError(t, r, 401, "invalid_client")
	if r.Header.Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
	testlogin.WantError(t, exchange(false, url.Values{"client_id": {testlogin.ClientID}}), 401, "invalid_client")

	var styles []string
	for _, rec := range h.iss.TokenRequestRecords() {
		styles = append(styles, rec.ClientAuth)
	}
	want := "client_secret_basic client_secret_post both client_secret_post none"
	if got := strings.Join(styles, " "); got != want {
		t.Errorf("auth styles\n got %s\nwant %s", got, want)
	}
	// Requiring one method (RequireBasicAuth, RequirePostAuth) is a fault,
	// tested with the others in testissuer.
}

// postNoAuth posts a form without client authentication.
func (h *harness) postNoAuth(path string, form url.Values) testlogin.Response {
	return h.Post(path, form, false)
}

// NoPKCE makes the issuer one that does not support PKCE: discovery says
// nothing of it, a challenge is refused, and a login without one works.
func TestNoPKCEIssuer(t *testing.T) {
	h := newHarness(t, Options{NoPKCE: true})
	resp, err := h.HTTP.Get(h.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(doc), "code_challenge_methods_supported") {
		t.Error("discovery of a NoPKCE issuer advertises PKCE")
	}
	status, loc, _ := getPage(t, h, authzQuery(oauth2.GenerateVerifier()))
	if u, _ := url.Parse(loc); status != 302 || u.Query().Get("error") != "invalid_request" {
		t.Errorf("a challenge sent to a NoPKCE issuer: %d %q", status, loc)
	}
	q := authzQuery("")
	q.Del("code_challenge")
	q.Del("code_challenge_method")
	status, loc, _ = getPage(t, h, q)
	if u, _ := url.Parse(loc); status != 302 || u.Query().Get("code") == "" {
		t.Errorf("a login without PKCE: %d %q", status, loc)
	}
}
