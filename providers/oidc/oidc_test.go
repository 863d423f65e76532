package oidc

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/providers"
)

// miniOP is a discovery document plus a scriptable token endpoint, for the
// tests that never reach ID-token verification.
type miniOP struct {
	srv *httptest.Server

	mu       sync.Mutex
	doc      map[string]any
	down     bool
	token    http.HandlerFunc
	tokenReq []*http.Request
	forms    []url.Values
}

func newMiniOP(t *testing.T) *miniOP {
	t.Helper()
	op := &miniOP{}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		op.mu.Lock()
		defer op.mu.Unlock()
		if op.down {
			http.Error(w, "<html>down</html>", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(op.doc)
	})
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		op.mu.Lock()
		op.tokenReq = append(op.tokenReq, r)
		op.forms = append(op.forms, r.PostForm)
		h := op.token
		op.mu.Unlock()
		if h == nil {
			http.Error(w, "no token handler", http.StatusInternalServerError)
			return
		}
		h(w, r)
	})
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) {
		op.mu.Lock()
		op.tokenReq = append(op.tokenReq, r)
		op.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"stolen","token_type":"Bearer"}`))
	})
	op.srv = httptest.NewServer(mux)
	t.Cleanup(op.srv.Close)
	op.doc = map[string]any{
		"issuer":                                op.srv.URL,
		"authorization_endpoint":                op.srv.URL + "/authorize",
		"token_endpoint":                        op.srv.URL + "/token",
		"jwks_uri":                              op.srv.URL + "/jwks",
		"id_token_signing_alg_values_supported": []string{"RS256"},
	}
	return op
}

func (op *miniOP) set(f func(op *miniOP)) {
	op.mu.Lock()
	defer op.mu.Unlock()
	f(op)
}

func (op *miniOP) tokenRequests() int {
	op.mu.Lock()
	defer op.mu.Unlock()
	return len(op.tokenReq)
}

func (op *miniOP) cfg() Config {
	return Config{Key: "corp", Type: "oidc", Issuer: op.srv.URL, ClientID: "client-1", ClientSecret: "s3cret-value"}
}

// newReady builds a provider for cfg and waits for discovery.
func newReady(t *testing.T, cfg Config, opts Options) *Provider {
	t.Helper()
	p := newProvider(t, cfg, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.WaitReady(ctx); err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	return p
}

func newProvider(t *testing.T, cfg Config, opts Options) *Provider {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	p, err := New(ctx, cfg, "http://127.0.0.1:1/v1/account/sessions/oauth2/callback/corp/proj", opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

func asVerification(t *testing.T, err error, check string) {
	t.Helper()
	var ve *providers.VerificationError
	if !errors.As(err, &ve) {
		t.Fatalf("error = %v (%T), want *VerificationError", err, err)
	}
	if ve.Check != check {
		t.Fatalf("Check = %q, want %q (err %v)", ve.Check, check, err)
	}
}

func asOAuth(t *testing.T, err error) *providers.OAuthError {
	t.Helper()
	var oe *providers.OAuthError
	if !errors.As(err, &oe) {
		t.Fatalf("error = %v (%T), want *OAuthError", err, err)
	}
	return oe
}

func TestNewRejectsInvalidConfiguration(t *testing.T) {
	base := Config{Key: "k", Issuer: "https://login.example", ClientID: "c"}
	cases := map[string]func(*Config){
		"no issuer":         func(c *Config) { c.Issuer = "" },
		"relative issuer":   func(c *Config) { c.Issuer = "login.example" },
		"http non-loopback": func(c *Config) { c.Issuer = "http://login.example" },
		"ftp issuer":        func(c *Config) { c.Issuer = "ftp://login.example" },
		"issuer query":      func(c *Config) { c.Issuer = "https://login.example/?tenant=1" },
		"no client id":      func(c *Config) { c.ClientID = "" },
		"bad auth style":    func(c *Config) { c.AuthStyle = "auto" },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := base
			mutate(&cfg)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if _, err := New(ctx, cfg, "https://bridge.example/cb", Options{}); err == nil {
				t.Fatal("New accepted an invalid configuration")
			}
		})
	}
	t.Run("relative redirect", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if _, err := New(ctx, base, "/cb", Options{}); err == nil {
			t.Fatal("New accepted a relative redirect URL")
		}
	})
}

func TestCheckEndpoint(t *testing.T) {
	ok := []string{"https://login.example/x", "http://127.0.0.1:8080/", "http://127.9.9.9/a",
		"http://[::1]:99/", "http://localhost:5556/dex", "http://LOCALHOST/"}
	bad := []string{"http://login.example/", "http://10.0.0.1/", "http://[::2]/", "http://localhost.evil.example/",
		"http://127.0.0.1.evil.example/", "file:///etc/passwd", "/relative", "https://"}
	for _, u := range ok {
		if err := checkEndpoint("e", u); err != nil {
			t.Errorf("checkEndpoint(%q) = %v, want nil", u, err)
		}
	}
	for _, u := range bad {
		if err := checkEndpoint("e", u); err == nil {
			t.Errorf("checkEndpoint(%q) = nil, want an error", u)
		}
	}
}

func TestLoginScopes(t *testing.T) {
	p := &Provider{scopes: defaultScopes}
	if got, want := p.loginScopes(nil), []string{"openid", "email", "profile"}; !slices.Equal(got, want) {
		t.Errorf("default scopes = %v, want %v", got, want)
	}
	p.scopes = []string{"groups", "email groups"}
	got := p.loginScopes([]string{"offline_access", "openid", "groups"})
	if want := []string{"openid", "groups", "email", "offline_access"}; !slices.Equal(got, want) {
		t.Errorf("scopes = %v, want %v", got, want)
	}
}

func TestInfo(t *testing.T) {
	p := &Provider{key: "corp"}
	if got := p.Info(); got != (providers.Info{Key: "corp", DisplayName: "corp", Type: "oidc"}) {
		t.Errorf("Info = %+v", got)
	}
	p.displayName = "Corp SSO"
	if got := p.Info().DisplayName; got != "Corp SSO" {
		t.Errorf("DisplayName = %q", got)
	}
}

func TestDiscoveryRefusesPlainHTTPEndpoints(t *testing.T) {
	op := newMiniOP(t)
	op.doc["userinfo_endpoint"] = "http://login.example/userinfo"
	p := newProvider(t, op.cfg(), Options{RetryInterval: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := p.WaitReady(ctx); err == nil {
		t.Fatal("provider became ready with a plain-http userinfo endpoint")
	}
	if err := p.Ready(); err == nil || !strings.Contains(err.Error(), "userinfo_endpoint") {
		t.Fatalf("Ready = %v, want the userinfo_endpoint refusal", err)
	}
	_, err := p.AuthCodeURL(context.Background(), providers.AuthRequest{State: "s", Nonce: "n", CodeVerifier: "v"})
	var ue *providers.UnavailableError
	if !errors.As(err, &ue) || ue.Provider != "corp" {
		t.Fatalf("AuthCodeURL error = %v, want *UnavailableError", err)
	}
	if _, err := p.Refresh(context.Background(), providers.RefreshRequest{RefreshToken: "rt"}); !errors.As(err, &ue) {
		t.Fatalf("Refresh error = %v, want *UnavailableError", err)
	}
	if op.tokenRequests() != 0 {
		t.Fatal("a token request was sent while the provider was unavailable")
	}
}

func TestDiscoveryIssuerMismatchIsRefused(t *testing.T) {
	op := newMiniOP(t)
	op.doc["issuer"] = op.srv.URL + "/"
	p := newProvider(t, op.cfg(), Options{RetryInterval: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := p.WaitReady(ctx); err == nil {
		t.Fatal("provider became ready although the discovered issuer differs by a slash")
	}
}

func TestDiscoveryRetriesUntilUp(t *testing.T) {
	op := newMiniOP(t)
	op.set(func(op *miniOP) { op.down = true })
	p := newProvider(t, op.cfg(), Options{RetryInterval: time.Millisecond})
	if err := p.Ready(); err == nil {
		t.Fatal("Ready = nil before discovery could succeed")
	}
	op.set(func(op *miniOP) { op.down = false })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.WaitReady(ctx); err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	if err := p.Ready(); err != nil {
		t.Fatalf("Ready after discovery: %v", err)
	}
}

func TestWaitReadyReturnsWhenLifetimeEnds(t *testing.T) {
	op := newMiniOP(t)
	op.set(func(op *miniOP) { op.down = true })
	ctx, cancel := context.WithCancel(context.Background())
	p, err := New(ctx, op.cfg(), "https://bridge.example/cb", Options{RetryInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	var ue *providers.UnavailableError
	if err := p.WaitReady(context.Background()); !errors.As(err, &ue) {
		t.Fatalf("WaitReady = %v, want *UnavailableError once the loop stopped", err)
	}
}

func TestAuthCodeURL(t *testing.T) {
	op := newMiniOP(t)
	cfg := op.cfg()
	cfg.Scopes = []string{"email", "groups"}
	p := newReady(t, cfg, Options{})
	raw, err := p.AuthCodeURL(context.Background(), providers.AuthRequest{
		State: "st", Nonce: "no", CodeVerifier: "verifier-verifier-verifier-verifier-verifier", Scopes: []string{"offline_access", "email"},
	})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(raw, op.srv.URL+"/authorize?") {
		t.Errorf("URL %q does not start with the authorization endpoint", raw)
	}
	q := u.Query()
	want := map[string]string{
		"response_type":         "code",
		"client_id":             "client-1",
		"state":                 "st",
		"nonce":                 "no",
		"scope":                 "openid email groups offline_access",
		"code_challenge_method": "S256",
		"code_challenge":        s256("verifier-verifier-verifier-verifier-verifier"),
		"redirect_uri":          "http://127.0.0.1:1/v1/account/sessions/oauth2/callback/corp/proj",
	}
	for k, v := range want {
		if got := q.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}

	off := false
	cfg.PKCE = &off
	p2 := newReady(t, cfg, Options{})
	raw, err = p2.AuthCodeURL(context.Background(), providers.AuthRequest{State: "st", Nonce: "no"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(raw, "code_challenge") {
		t.Errorf("PKCE disabled but URL has a challenge: %s", raw)
	}
}

func TestAuthCodeURLNeedsLoginSecrets(t *testing.T) {
	op := newMiniOP(t)
	p := newReady(t, op.cfg(), Options{})
	for _, req := range []providers.AuthRequest{
		{Nonce: "n", CodeVerifier: "v"},
		{State: "s", CodeVerifier: "v"},
		{State: "s", Nonce: "n"},
	} {
		if _, err := p.AuthCodeURL(context.Background(), req); err == nil {
			t.Errorf("AuthCodeURL(%+v) succeeded", req)
		}
	}
}

func TestCallbackIssBeforeTokenRequest(t *testing.T) {
	op := newMiniOP(t)
	op.doc["authorization_response_iss_parameter_supported"] = true
	p := newReady(t, op.cfg(), Options{})
	req := providers.AuthRequest{State: "s", Nonce: "n", CodeVerifier: "v"}
	for name, cb := range map[string]providers.Callback{
		"wrong iss":          {Code: "c", Iss: op.srv.URL + "/", HasIss: true},
		"missing advertised": {Code: "c"},
		"empty iss":          {Code: "c", Iss: "", HasIss: true},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := p.Exchange(context.Background(), cb, req)
			asVerification(t, err, "iss")
			if n := op.tokenRequests(); n != 0 {
				t.Fatalf("%d token requests sent before the iss check", n)
			}
		})
	}
}

func TestCallbackIssNotAdvertised(t *testing.T) {
	op := newMiniOP(t)
	op.token = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
	}
	p := newReady(t, op.cfg(), Options{})
	req := providers.AuthRequest{State: "s", Nonce: "n", CodeVerifier: "v"}
	// No iss and none advertised: the exchange goes ahead.
	_, err := p.Exchange(context.Background(), providers.Callback{Code: "c"}, req)
	if oe := asOAuth(t, err); oe.Code != "invalid_grant" {
		t.Fatalf("Code = %q", oe.Code)
	}
	// A wrong iss is refused even when the parameter is not advertised.
	_, err = p.Exchange(context.Background(), providers.Callback{Code: "c", Iss: "https://evil.example", HasIss: true}, req)
	asVerification(t, err, "iss")
	if n := op.tokenRequests(); n != 1 {
		t.Fatalf("token requests = %d, want 1", n)
	}
}

// s256 is RFC 7636's S256 transform, computed independently of x/oauth2.
func s256(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func TestExchangeRequiresIDToken(t *testing.T) {
	op := newMiniOP(t)
	op.token = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"at","token_type":"Bearer"}`))
	}
	p := newReady(t, op.cfg(), Options{})
	_, err := p.Exchange(context.Background(), providers.Callback{Code: "code"}, providers.AuthRequest{State: "s", Nonce: "n", CodeVerifier: "v"})
	asVerification(t, err, "id_token")
	op.mu.Lock()
	form := op.forms[0]
	op.mu.Unlock()
	if form.Get("code_verifier") != "v" || form.Get("code") != "code" || form.Get("redirect_uri") == "" {
		t.Fatalf("exchange form = %v", form)
	}
}

func TestIdentityClaims(t *testing.T) {
	cases := []struct {
		name string
		id   map[string]any
		ui   map[string]any
		want providers.Identity
	}{
		{name: "string true", id: map[string]any{"email": "a@x", "email_verified": "true", "preferred_username": "ada"},
			want: providers.Identity{Subject: "s", Email: "a@x", EmailVerified: true, Name: "ada"}},
		{name: "given and family", id: map[string]any{"email": "a@x", "email_verified": false, "given_name": "Ada", "family_name": "Lovelace"},
			want: providers.Identity{Subject: "s", Email: "a@x", Name: "Ada Lovelace"}},
		{name: "userinfo overrides email", id: map[string]any{"email": "old@x", "email_verified": true, "name": "Ada"},
			ui:   map[string]any{"email": "new@x", "name": "Other"},
			want: providers.Identity{Subject: "s", Email: "new@x", EmailVerified: false, Name: "Ada"}},
		{name: "userinfo same email keeps verification", id: map[string]any{"email": "a@x", "email_verified": true},
			ui:   map[string]any{"email": "a@x", "name": "From Userinfo"},
			want: providers.Identity{Subject: "s", Email: "a@x", EmailVerified: true, Name: "From Userinfo"}},
		{name: "userinfo verifies", id: map[string]any{}, ui: map[string]any{"email": "a@x", "email_verified": "TRUE"},
			want: providers.Identity{Subject: "s", Email: "a@x", EmailVerified: true}},
		{name: "odd types", id: map[string]any{"email": 42, "email_verified": 1, "name": []any{"x"}},
			want: providers.Identity{Subject: "s"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &idClaims{sub: "s", raw: tc.id}
			got := c.identity()
			if tc.ui != nil {
				got = mergeUserinfo(got, tc.ui)
			}
			if got != tc.want {
				t.Fatalf("identity = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestDiscoveryBoundsAndDoesNotQuoteAnswers(t *testing.T) {
	op := newMiniOP(t)
	op.set(func(op *miniOP) { op.doc["padding"] = strings.Repeat("x", 2<<20) })
	p := newProvider(t, op.cfg(), Options{RetryInterval: time.Hour})
	if _, err := p.discover(context.Background()); err == nil {
		t.Fatal("a discovery document over 1 MiB was accepted")
	}

	op.set(func(op *miniOP) { op.down = true })
	_, err := p.discover(context.Background())
	if err == nil || strings.Contains(err.Error(), "<html>") {
		t.Fatalf("discovery error %v: must exist and not quote the answer", err)
	}
}

func TestEveryClientHasATimeout(t *testing.T) {
	op := newMiniOP(t)
	p := newProvider(t, op.cfg(), Options{})
	for name, c := range map[string]*http.Client{"discovery": p.client, "token": p.tokenClient, "userinfo": p.apiClient} {
		if c.Timeout == 0 {
			t.Errorf("the %s client has no timeout", name)
		}
	}
}

// A key server answering 200 with an HTML page: an outage (the login may
// be tried again), and go-oidc quotes the whole body in its error, which
// must not reach the login error (and its logs).
func TestJWKSAnswerIsNotQuoted(t *testing.T) {
	page := "<html>" + strings.Repeat("maintenance ", 5000) + "</html>"
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(page))
	}))
	t.Cleanup(jwks.Close)
	op := newMiniOP(t)
	b64 := base64.RawURLEncoding.EncodeToString
	idToken := b64([]byte(`{"alg":"RS256","kid":"k1"}`)) + "." + b64([]byte(`{"iss":"x","sub":"u"}`)) + "." + b64([]byte("signature"))
	op.set(func(op *miniOP) {
		op.doc["jwks_uri"] = jwks.URL
		op.token = func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"access_token":"at","token_type":"Bearer","id_token":"` + idToken + `"}`))
		}
	})
	p := newReady(t, op.cfg(), Options{})
	_, err := p.Exchange(context.Background(), providers.Callback{Code: "code"}, providers.AuthRequest{State: "s", Nonce: "n", CodeVerifier: "v"})
	if _, ok := errors.AsType[*providers.UnavailableError](err); !ok || providers.IsPermanent(err) {
		t.Fatalf("error = %v (%T), want a transient *UnavailableError", err, err)
	}
	if strings.Contains(err.Error(), "maintenance") || len(err.Error()) > 400 {
		t.Fatalf("the error quotes the key server's answer: %.300s", err)
	}
}

// The claims-only check (a refresh while the key set is unreachable) still
// refuses a token that is not signed with an accepted algorithm.
func TestClaimsOnlyCheckRefusesUnsignedTokens(t *testing.T) {
	op := newMiniOP(t)
	p := newReady(t, op.cfg(), Options{})
	m := p.meta.Load()
	b64 := base64.RawURLEncoding.EncodeToString
	now := time.Now().Unix()
	claims := fmt.Sprintf(`{"iss":%q,"aud":%q,"sub":"u","iat":%d,"exp":%d}`, p.issuer, p.clientID, now, now+300)
	for name, header := range map[string]string{"none": `{"alg":"none"}`, "HS256": `{"alg":"HS256"}`} {
		raw := b64([]byte(header)) + "." + b64([]byte(claims)) + "." + b64([]byte("sig"))
		_, err := p.insecureVerifyIDTokenClaims(context.Background(), m, raw, "")
		if ve, ok := errors.AsType[*providers.VerificationError](err); !ok || ve.Check != "signature" {
			t.Errorf("alg %s: %v, want a signature VerificationError", name, err)
		}
	}
}
