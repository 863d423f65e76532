package testissuer

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/sessionbridge/sessionbridge/internal/devissuer"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testlogin"
)

const (
	testClientID = "bridge-client"
	testSecret   = "s3cret/with+odd&chars"
	testRedirect = "http://127.0.0.1:9/callback/dev"
)

var alice = devissuer.User{Email: "alice@example.com", Name: "Alice", EmailVerified: true}

// harness is an issuer with faults on a real loopback port plus an OAuth2
// client for it (as devissuer's own tests have, without the faults).
type harness struct {
	t      testing.TB
	iss    *Issuer
	url    string
	cfg    oauth2.Config
	client *http.Client // does not follow redirects
	ctx    context.Context
}

// newHarness starts an issuer; opts gets test defaults for the client, the
// key and AutoApprove (alice).
func newHarness(t testing.TB, opts devissuer.Options) *harness {
	t.Helper()
	if opts.AutoApprove == nil {
		u := alice
		opts.AutoApprove = &u
	}
	return startHarness(t, opts)
}

// startHarness starts an issuer with opts as given (no AutoApprove default).
func startHarness(t testing.TB, opts devissuer.Options) *harness {
	t.Helper()
	if opts.ClientID == "" {
		opts.ClientID, opts.ClientSecret = testClientID, testSecret
	}
	iss := Start(t, opts)
	u := iss.URL()
	client := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &harness{
		t: t, iss: iss, url: u, client: client,
		ctx: context.WithValue(context.Background(), oauth2.HTTPClient, client),
		cfg: oauth2.Config{
			ClientID: opts.ClientID, ClientSecret: opts.ClientSecret,
			Endpoint: oauth2.Endpoint{AuthURL: u + "/authorize", TokenURL: u + "/token",
				AuthStyle: oauth2.AuthStyleInHeader},
			RedirectURL: testRedirect,
			Scopes:      []string{"openid", "email", "profile"},
		},
	}
}

// authorize sends the browser step (the shared login driver, approving
// as AutoApprove) and returns the redirect Location.
func (h *harness) authorize(state, nonce, verifier string, extra ...oauth2.AuthCodeOption) *url.URL {
	h.t.Helper()
	opts := append([]oauth2.AuthCodeOption{oauth2.SetAuthURLParam("nonce", nonce), oauth2.S256ChallengeOption(verifier)}, extra...)
	loc, err := testlogin.Authorize(h.ctx, h.client, h.cfg.AuthCodeURL(state, opts...), testlogin.Choice{})
	if err != nil {
		h.t.Fatalf("authorize: %v", err)
	}
	return loc
}

// code runs the authorize step and returns the code, checking the state.
func (h *harness) code(nonce, verifier string) string {
	h.t.Helper()
	state := "st-" + oauth2.GenerateVerifier()[:8]
	loc := h.authorize(state, nonce, verifier)
	q := loc.Query()
	if q.Get("state") != state {
		h.t.Fatalf("state = %q, want %q", q.Get("state"), state)
	}
	if q.Get("code") == "" {
		h.t.Fatalf("no code in %s", loc.Redacted())
	}
	return q.Get("code")
}

// login runs the whole code flow with x/oauth2 and returns the token.
func (h *harness) login(nonce string) (*oauth2.Token, error) {
	h.t.Helper()
	v := oauth2.GenerateVerifier()
	return h.cfg.Exchange(h.ctx, h.code(nonce, v), oauth2.VerifierOption(v))
}

func (h *harness) mustLogin(nonce string) *oauth2.Token {
	h.t.Helper()
	tok, err := h.login(nonce)
	if err != nil {
		h.t.Fatalf("login: %v", err)
	}
	return tok
}

// rawResp is a token endpoint answer read without a client library.
type rawResp struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

func (r rawResp) str(k string) string { s, _ := r.Body[k].(string); return s }

// post sends a form to path with Basic client auth (unless basic is false,
// in which case the caller puts credentials into form).
func (h *harness) post(path string, form url.Values, basic bool) rawResp {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.url+path, strings.NewReader(form.Encode()))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth(url.QueryEscape(h.cfg.ClientID), url.QueryEscape(h.cfg.ClientSecret))
	}
	return h.do(req)
}

func (h *harness) do(req *http.Request) rawResp {
	h.t.Helper()
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := rawResp{Status: resp.StatusCode, Header: resp.Header, Raw: string(b)}
	_ = json.Unmarshal(b, &out.Body)
	return out
}

func (h *harness) refresh(rt string) rawResp {
	h.t.Helper()
	return h.post("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, true)
}

func (h *harness) exchangeRaw(code, verifier string) rawResp {
	h.t.Helper()
	return h.post("/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {testRedirect}, "code_verifier": {verifier}}, true)
}

func (h *harness) userinfo(at string) rawResp {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.url+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+at)
	return h.do(req)
}

// claims decodes a JWT payload without verifying it.
func claims(t testing.TB, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWT: %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func wantError(t testing.TB, r rawResp, status int, code string) {
	t.Helper()
	if r.Status != status || r.str("error") != code {
		t.Fatalf("got %d %q (%s), want %d %q", r.Status, r.str("error"), r.str("error_description"), status, code)
	}
}

func mustReq(t testing.TB, method, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}
