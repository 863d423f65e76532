package testlogin

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
)

// The client a Client is unless a test says otherwise: a secret with
// characters that need escaping in a Basic header, and a redirect URI on
// a port nothing listens on (a Client never follows the redirect).
const (
	ClientID     = "bridge-client"
	ClientSecret = "s3cret/with+odd&chars"
	RedirectURL  = "http://127.0.0.1:9/callback/dev"
)

// Client is an OAuth 2.0 / OpenID Connect client of one issuer, for tests
// of the issuer itself (devissuer and testissuer): it runs the code flow
// with x/oauth2 and the shared driver (Authorize), and also speaks to the
// issuer's endpoints by hand (Post, Refresh, ExchangeRaw, Userinfo), so a
// test can send what no client library would. Failures of the exchange
// itself (not of the issuer's answer) end the test.
type Client struct {
	T testing.TB
	// URL is the issuer's URL; Config the client at its endpoints
	// (Basic client authentication, the openid, email and profile scopes).
	URL    string
	Config oauth2.Config
	// HTTP sends every request and does not follow redirects; Ctx carries
	// it to x/oauth2.
	HTTP *http.Client
	Ctx  context.Context
}

// NewClient is a client of the issuer at issuerURL registered as
// clientID with secret, redirecting to RedirectURL.
func NewClient(t testing.TB, issuerURL, clientID, secret string) *Client {
	client := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &Client{
		T: t, URL: issuerURL, HTTP: client,
		Ctx: context.WithValue(context.Background(), oauth2.HTTPClient, client),
		Config: oauth2.Config{
			ClientID: clientID, ClientSecret: secret,
			Endpoint: oauth2.Endpoint{AuthURL: issuerURL + "/authorize", TokenURL: issuerURL + "/token",
				AuthStyle: oauth2.AuthStyleInHeader},
			RedirectURL: RedirectURL,
			Scopes:      []string{"openid", "email", "profile"},
		},
	}
}

// Authorize sends the browser step (Authorize, approving as the issuer
// does by itself) with nonce and verifier's challenge and returns the
// redirect Location.
func (c *Client) Authorize(state, nonce, verifier string, extra ...oauth2.AuthCodeOption) *url.URL {
	c.T.Helper()
	opts := append([]oauth2.AuthCodeOption{oauth2.SetAuthURLParam("nonce", nonce), oauth2.S256ChallengeOption(verifier)}, extra...)
	loc, err := Authorize(c.Ctx, c.HTTP, c.Config.AuthCodeURL(state, opts...), Choice{})
	if err != nil {
		c.T.Fatalf("authorize: %v", err)
	}
	return loc
}

// Code runs the authorize step and returns the code, checking the state.
func (c *Client) Code(nonce, verifier string) string {
	c.T.Helper()
	state := "st-" + oauth2.GenerateVerifier()[:8]
	loc := c.Authorize(state, nonce, verifier)
	q := loc.Query()
	if q.Get("state") != state {
		c.T.Fatalf("state = %q, want %q", q.Get("state"), state)
	}
	if q.Get("code") == "" {
		c.T.Fatalf("no code in %s", loc.Redacted())
	}
	return q.Get("code")
}

// Login runs the whole code flow with x/oauth2 and returns the token.
func (c *Client) Login(nonce string) (*oauth2.Token, error) {
	c.T.Helper()
	v := oauth2.GenerateVerifier()
	return c.Config.Exchange(c.Ctx, c.Code(nonce, v), oauth2.VerifierOption(v))
}

// MustLogin is Login that ends the test when the login fails.
func (c *Client) MustLogin(nonce string) *oauth2.Token {
	c.T.Helper()
	tok, err := c.Login(nonce)
	if err != nil {
		c.T.Fatalf("login: %v", err)
	}
	return tok
}

// Response is an endpoint's answer read without a client library.
type Response struct {
	Status int
	Header http.Header
	Body   map[string]any // the JSON body; nil when it is not JSON
	Raw    string
}

// Str is the body's string member k, or "".
func (r Response) Str(k string) string { s, _ := r.Body[k].(string); return s }

// Post sends a form to path with Basic client auth (unless basic is false,
// in which case the caller puts credentials into form).
func (c *Client) Post(path string, form url.Values, basic bool) Response {
	c.T.Helper()
	req, err := http.NewRequest(http.MethodPost, c.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.T.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth(url.QueryEscape(c.Config.ClientID), url.QueryEscape(c.Config.ClientSecret))
	}
	return c.Do(req)
}

// PostCredentials is the client's credentials as form fields
// (client_secret_post), for Post or ExchangeWith without basic.
func (c *Client) PostCredentials() url.Values {
	return url.Values{"client_id": {c.Config.ClientID}, "client_secret": {c.Config.ClientSecret}}
}

// Do sends req and reads the answer.
func (c *Client) Do(req *http.Request) Response {
	c.T.Helper()
	resp, err := c.HTTP.Do(req)
	if err != nil {
		c.T.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := Response{Status: resp.StatusCode, Header: resp.Header, Raw: string(b)}
	_ = json.Unmarshal(b, &out.Body)
	return out
}

// Refresh sends a refresh_token grant for rt.
func (c *Client) Refresh(rt string) Response {
	c.T.Helper()
	return c.Post("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, true)
}

// ExchangeRaw sends the authorization_code grant for code and verifier.
func (c *Client) ExchangeRaw(code, verifier string) Response {
	c.T.Helper()
	return c.Post("/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {RedirectURL}, "code_verifier": {verifier}}, true)
}

// ExchangeWith runs a fresh authorize step and sends its code exchange
// with the fields of extra added (or replaced), with Basic client auth
// when basic is set: for tests of client authentication.
func (c *Client) ExchangeWith(basic bool, extra url.Values) Response {
	c.T.Helper()
	v := oauth2.GenerateVerifier()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {c.Code("n", v)},
		"redirect_uri": {RedirectURL}, "code_verifier": {v}}
	for k, vs := range extra {
		form[k] = vs
	}
	return c.Post("/token", form, basic)
}

// Userinfo asks the user-info endpoint with access token at.
func (c *Client) Userinfo(at string) Response {
	c.T.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.URL+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+at)
	return c.Do(req)
}

// Claims decodes a JWT payload without verifying it.
func Claims(t testing.TB, jwt string) map[string]any {
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

// WantError fails the test unless r is an OAuth error answer with status
// and error code.
func WantError(t testing.TB, r Response, status int, code string) {
	t.Helper()
	if r.Status != status || r.Str("error") != code {
		t.Fatalf("got %d %q (%s), want %d %q", r.Status, r.Str("error"), r.Str("error_description"), status, code)
	}
}

// MustRequest is http.NewRequest that ends the test on an error.
func MustRequest(t testing.TB, method, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}
