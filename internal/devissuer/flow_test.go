package devissuer

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sessionbridge/sessionbridge/internal/testenv"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testlogin"
)

func TestDiscovery(t *testing.T) {
	h := newHarness(t, Options{AdvertiseIssParameter: true})
	r := h.Do(testlogin.MustRequest(t, http.MethodGet, h.URL+"/.well-known/openid-configuration"))
	if r.Status != 200 {
		t.Fatalf("status %d", r.Status)
	}
	for k, want := range map[string]string{
		"issuer": h.URL, "authorization_endpoint": h.URL + "/authorize", "token_endpoint": h.URL + "/token",
		"userinfo_endpoint": h.URL + "/userinfo", "jwks_uri": h.URL + "/jwks",
	} {
		if got := r.Str(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	for k, want := range map[string]string{
		"response_types_supported": "code", "id_token_signing_alg_values_supported": "RS256",
		"code_challenge_methods_supported": "S256", "token_endpoint_auth_methods_supported": "client_secret_basic client_secret_post",
		"grant_types_supported": "authorization_code refresh_token", "subject_types_supported": "public",
	} {
		if got := joinAny(r.Body[k]); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	for _, k := range []string{"scopes_supported", "claims_supported"} {
		if joinAny(r.Body[k]) == "" {
			t.Errorf("%s missing", k)
		}
	}
	if r.Body["authorization_response_iss_parameter_supported"] != true {
		t.Error("iss parameter not advertised")
	}
	jwks := h.Do(testlogin.MustRequest(t, http.MethodGet, h.URL+"/jwks"))
	keys, _ := jwks.Body["keys"].([]any)
	if len(keys) != 1 {
		t.Fatalf("jwks keys: %v", jwks.Raw)
	}
	k := keys[0].(map[string]any)
	if k["kid"] == "" || k["alg"] != "RS256" || k["kty"] != "RSA" || k["d"] != nil {
		t.Errorf("bad jwk: %v", k)
	}
}

// TestCodeFlow runs the whole login with x/oauth2 and verifies the ID token
// with go-oidc against the live issuer.
func TestCodeFlow(t *testing.T) {
	h := newHarness(t, Options{RotateRefreshTokens: true})
	provider, err := oidc.NewProvider(h.Ctx, h.URL)
	if err != nil {
		t.Fatal(err)
	}
	tok := h.MustLogin("nonce-123")
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.Expiry.IsZero() {
		t.Fatalf("incomplete token: access %t refresh %t expiry %v", tok.AccessToken != "", tok.RefreshToken != "", tok.Expiry)
	}
	if d := time.Until(tok.Expiry); d <= 0 || d > DefaultAccessTokenTTL+time.Second {
		t.Errorf("expiry in %v, want about 2m", d)
	}
	if len(tok.AccessToken) < 22 { // 128 bits in base64url
		t.Errorf("access token too short: %d chars", len(tok.AccessToken))
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&oidc.Config{ClientID: testlogin.ClientID}).Verify(h.Ctx, raw)
	if err != nil {
		t.Fatalf("verify ID token: %v", err)
	}
	if idt.Nonce != "nonce-123" || idt.Subject != defaultSubject(alice.Email) || idt.Issuer != h.URL {
		t.Errorf("ID token nonce %q sub %q iss %q", idt.Nonce, idt.Subject, idt.Issuer)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}
	var c struct {
		Email         string `json:"email"`
		EmailVerified bool   `json:"email_verified"`
		Name          string `json:"name"`
		AuthTime      int64  `json:"auth_time"`
	}
	if err := idt.Claims(&c); err != nil {
		t.Fatal(err)
	}
	if c.Email != alice.Email || !c.EmailVerified || c.Name != "Alice" || c.AuthTime == 0 {
		t.Errorf("claims %+v", c)
	}
	ui, err := provider.UserInfo(h.Ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatal(err)
	}
	if ui.Subject != idt.Subject || ui.Email != alice.Email || !ui.EmailVerified {
		t.Errorf("userinfo %+v", ui)
	}
	st := h.iss.Stats()
	if st.Logins != 1 || st.TokenRequests != 1 || st.UserinfoRequests != 1 {
		t.Errorf("stats %+v", st)
	}
	recs := h.iss.TokenRequestRecords()
	if len(recs) != 1 || recs[0].ClientAuth != AuthBasic || recs[0].GrantType != "authorization_code" || recs[0].Status != 200 {
		t.Errorf("records %+v", recs)
	}
}

func TestTokenResponseShape(t *testing.T) {
	h := newHarness(t, Options{})
	v := oauth2.GenerateVerifier()
	r := h.ExchangeRaw(h.Code("n", v), v)
	if r.Status != 200 || r.Header.Get("Cache-Control") != "no-store" || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("status %d headers %v", r.Status, r.Header)
	}
	if r.Str("token_type") != "Bearer" || r.Body["expires_in"] != float64(120) || r.Str("scope") != "openid email profile" {
		t.Errorf("body %v", r.Body)
	}
	// The error answer has the same headers and an RFC 6749 §5.2 body.
	e := h.ExchangeRaw("no-such-code", v)
	testlogin.WantError(t, e, 400, "invalid_grant")
	if e.Header.Get("Cache-Control") != "no-store" || e.Str("error_description") == "" {
		t.Errorf("error answer %v %v", e.Header, e.Body)
	}
}

func TestNegativeTTLOmitsExpiresIn(t *testing.T) {
	h := newHarness(t, Options{AccessTokenTTL: -1})
	v := oauth2.GenerateVerifier()
	r := h.ExchangeRaw(h.Code("n", v), v)
	if _, ok := r.Body["expires_in"]; ok || r.Status != 200 {
		t.Fatalf("expires_in present: %v", r.Body)
	}
}

func TestPKCE(t *testing.T) {
	h := newHarness(t, Options{})
	v := oauth2.GenerateVerifier()
	testlogin.WantError(t, h.ExchangeRaw(h.Code("n", v), oauth2.GenerateVerifier()), 400, "invalid_grant")
	testlogin.WantError(t, h.ExchangeRaw(h.Code("n", v), ""), 400, "invalid_grant")
	// A failed attempt spends the code: the right verifier no longer helps.
	code := h.Code("n", v)
	testlogin.WantError(t, h.ExchangeRaw(code, "short"), 400, "invalid_grant")
	testlogin.WantError(t, h.ExchangeRaw(code, v), 400, "invalid_grant")
	if got := h.iss.Stats().InvalidGrants; got != 4 {
		t.Errorf("InvalidGrants = %d, want 4", got)
	}
}

func TestCodeReuseRevokesGrant(t *testing.T) {
	h := newHarness(t, Options{RotateRefreshTokens: true})
	v := oauth2.GenerateVerifier()
	code := h.Code("n", v)
	first := h.ExchangeRaw(code, v)
	if first.Status != 200 {
		t.Fatalf("first exchange %d %s", first.Status, first.Raw)
	}
	testlogin.WantError(t, h.ExchangeRaw(code, v), 400, "invalid_grant")
	if h.iss.Stats().CodeReuses != 1 {
		t.Errorf("CodeReuses = %d", h.iss.Stats().CodeReuses)
	}
	testlogin.WantError(t, h.Refresh(first.Str("refresh_token")), 400, "invalid_grant")
	if r := h.Userinfo(first.Str("access_token")); r.Status != 401 {
		t.Errorf("userinfo after code reuse: %d", r.Status)
	}
}

func TestCodeBinding(t *testing.T) {
	clock := testenv.NewClock(time.Now())
	h := newHarness(t, Options{Now: clock.Now})
	v := oauth2.GenerateVerifier()
	code := h.Code("n", v)
	r := h.Post("/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {testlogin.RedirectURL + "x"}, "code_verifier": {v}}, true)
	testlogin.WantError(t, r, 400, "invalid_grant")

	code = h.Code("n", v)
	clock.Advance(CodeTTL + time.Second)
	testlogin.WantError(t, h.ExchangeRaw(code, v), 400, "invalid_grant")
}

func TestAccessTokenExpiry(t *testing.T) {
	clock := testenv.NewClock(time.Now())
	h := newHarness(t, Options{Now: clock.Now, AccessTokenTTL: time.Minute})
	tok := h.MustLogin("n")
	if r := h.Userinfo(tok.AccessToken); r.Status != 200 || r.Str("sub") == "" {
		t.Fatalf("userinfo %d %s", r.Status, r.Raw)
	}
	clock.Advance(time.Minute)
	r := h.Userinfo(tok.AccessToken)
	if r.Status != 401 || !strings.Contains(r.Header.Get("WWW-Authenticate"), "invalid_token") {
		t.Fatalf("expired token: %d %v", r.Status, r.Header)
	}
	if r := h.Userinfo("made-up"); r.Status != 401 {
		t.Errorf("unknown token: %d", r.Status)
	}
	if r := h.Do(testlogin.MustRequest(t, http.MethodGet, h.URL+"/userinfo")); r.Status != 401 {
		t.Errorf("no token: %d", r.Status)
	}
	// The refresh token outlives the access token.
	r = h.Refresh(tok.RefreshToken)
	if r.Status != 200 || h.Userinfo(r.Str("access_token")).Status != 200 {
		t.Fatalf("refresh after expiry: %d %s", r.Status, r.Raw)
	}
	recs := h.iss.TokenRequestRecords()
	if last := recs[len(recs)-1]; !last.Time.Equal(clock.Now()) || last.GrantType != "refresh_token" {
		t.Errorf("record %+v", last)
	}
}

func TestHandlerWithHTTPTest(t *testing.T) {
	iss, err := New(Options{ClientID: "c", ClientSecret: "s", SigningKey: testenv.SigningKey(), AutoApprove: &alice})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(iss.Handler())
	defer srv.Close()
	iss.SetIssuerURL(srv.URL + "/")
	if iss.URL() != srv.URL {
		t.Fatalf("URL %q", iss.URL())
	}
	if _, err := oidc.NewProvider(t.Context(), srv.URL); err != nil {
		t.Fatal(err)
	}
}

func TestStartAndClose(t *testing.T) {
	iss, err := New(Options{ClientID: "c", ClientSecret: "s", SigningKey: testenv.SigningKey()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iss.Start("0.0.0.0:0"); err == nil {
		t.Fatal("Start accepted a non-loopback address")
	}
	u, err := iss.Start("127.0.0.1:0")
	if err != nil || !strings.HasPrefix(u, "http://127.0.0.1:") || iss.URL() != u {
		t.Fatalf("Start: %q %v", u, err)
	}
	if err := iss.Close(); err != nil {
		t.Fatal(err)
	}
	if err := iss.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(u + "/jwks"); err == nil {
		t.Error("server still answers after Close")
	}
	if _, err := iss.Start("127.0.0.1:0"); err == nil {
		t.Error("Start after Close succeeded")
	}
}

func TestNewValidates(t *testing.T) {
	for _, o := range []Options{
		{},
		{ClientID: "c"},
		{ClientID: "c", ClientSecret: "s", RedirectURIs: []string{"ftp://x/cb"}},
		{ClientID: "c", ClientSecret: "s", AutoApprove: &User{}},
	} {
		o.SigningKey = testenv.SigningKey()
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}

func TestRevoke(t *testing.T) {
	h := newHarness(t, Options{RotateRefreshTokens: true})
	tok := h.MustLogin("n")
	if r := h.Post("/revoke", url.Values{"token": {tok.RefreshToken}}, true); r.Status != 200 {
		t.Fatalf("revoke: %d %s", r.Status, r.Raw)
	}
	testlogin.WantError(t, h.Refresh(tok.RefreshToken), 400, "invalid_grant")
	if h.Userinfo(tok.AccessToken).Status != 401 {
		t.Error("access token survived revocation of its grant")
	}
	if r := h.Post("/revoke", url.Values{"token": {"unknown"}}, true); r.Status != 200 {
		t.Errorf("unknown token: %d", r.Status)
	}
	if r := h.Post("/revoke", url.Values{"token": {"x"}}, false); r.Status != 401 {
		t.Errorf("unauthenticated revoke: %d", r.Status)
	}
	if h.iss.Stats().Revocations != 1 || h.iss.LiveRefreshTokens() != 0 {
		t.Errorf("stats %+v live %d", h.iss.Stats(), h.iss.LiveRefreshTokens())
	}
}

// joinAny renders a JSON array of strings as one space-separated string.
func joinAny(v any) string {
	list, _ := v.([]any)
	var s []string
	for _, x := range list {
		str, _ := x.(string)
		s = append(s, str)
	}
	return strings.Join(s, " ")
}

func TestDevelopmentOptions(t *testing.T) {
	o := DevelopmentOptions(nil, testlogin.RedirectURL)
	o2 := DevelopmentOptions(nil, testlogin.RedirectURL)
	if o.ClientID != DevClientID || len(o.ClientSecret) < 32 || o.ClientSecret == o2.ClientSecret || o.AutoApprove != nil ||
		!o.RotateRefreshTokens || !o.DetectReuse || !o.AdvertiseIssParameter || o.AccessTokenTTL != 2*time.Minute {
		t.Fatalf("options %+v", o)
	}
	o.SigningKey = testenv.SigningKey()
	h := startHarness(t, o)
	q := authzQuery(oauth2.GenerateVerifier())
	q.Set("client_id", DevClientID)
	status, _, body := getPage(t, h, q)
	if status != 200 || !strings.Contains(body, "sessionbridge development mode") {
		t.Fatalf("form: %d", status)
	}
}
