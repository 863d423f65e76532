package presets_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/sessionbridge/sessionbridge/internal/testenv"
	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/presets"
	"github.com/sessionbridge/sessionbridge/providers/providerconfig"
	"github.com/sessionbridge/sessionbridge/providers/providertest"
)

const (
	appleTeam = "TEAM123456"
	appleKey  = "KEY1234567"
	appleSub  = "001234.5a7c9d0e8f1b2c3d4e5f60718293a4b5.1234"
)

const (
	appleKeysURL = "https://appleid.apple.com/auth/keys"
	appleKid     = "W6WcOKB"
)

// appleJWKS is the key set the fake publishes: the devKey public key.
func appleJWKS(t testingT) string {
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &testenv.SigningKey().PublicKey, KeyID: appleKid, Algorithm: "RS256", Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// appleIDToken signs an ID token as Apple's token endpoint returns it,
// with the published key; edit, when set, changes the claims first.
func appleIDToken(t testingT, now time.Time, nonce string) string {
	return signAppleIDToken(t, testenv.SigningKey(), now, nonce, nil)
}

func signAppleIDToken(t testingT, key *rsa.PrivateKey, now time.Time, nonce string, edit func(map[string]any)) string {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", appleKid))
	if err != nil {
		t.Fatal(err)
	}
	claims := map[string]any{
		"iss": "https://appleid.apple.com", "aud": clientID, "sub": appleSub,
		"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
		"email": "ada@privaterelay.appleid.com", "email_verified": "true", "is_private_email": "true",
		"auth_time": now.Unix(), "nonce_supported": true,
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	if edit != nil {
		edit(claims)
	}
	s, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// keyFetches counts the requests for Apple's key set.
func keyFetches(f *providertest.Fake) int {
	n := 0
	for _, r := range f.Requests() {
		if r.URL == appleKeysURL {
			n++
		}
	}
	return n
}

func TestApple(t *testing.T) {
	key, p8 := providertest.AppleP8(t)
	var clock atomic.Int64
	clock.Store(fixedNow.Unix())
	now := func() time.Time { return time.Unix(clock.Load(), 0).UTC() }

	var mu sync.Mutex
	var secrets []string
	checkSecret := func(s string) error {
		tok, err := jwt.ParseSigned(s, []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			return err
		}
		if len(tok.Headers) != 1 || tok.Headers[0].KeyID != appleKey {
			return errors.New("kid")
		}
		var c jwt.Claims
		if err := tok.Claims(&key.PublicKey, &c); err != nil {
			return err
		}
		if err := c.ValidateWithLeeway(jwt.Expected{Issuer: appleTeam, Subject: clientID, AnyAudience: jwt.Audience{"https://appleid.apple.com"}, Time: now()}, 0); err != nil {
			return err
		}
		mu.Lock()
		secrets = append(secrets, s)
		mu.Unlock()
		return nil
	}
	pr, _ := presets.Lookup("apple")
	f := providertest.New(t, providertest.Spec{
		ClientID: clientID, AuthStyle: "post", CheckSecret: checkSecret, PKCE: pr.PKCE,
		AuthURL: pr.AuthURL, TokenURL: pr.TokenURL,
		Token: providertest.Response{BodyFunc: func(g providertest.Grant) string {
			return fmt.Sprintf(`{"access_token":"{access_token}","expires_in":3600,"id_token":%q,"refresh_token":"{refresh_token}","token_type":"Bearer"}`, appleIDToken(t, now(), g.Nonce))
		}},
		Refresh: providertest.Response{BodyFunc: func(g providertest.Grant) string {
			return fmt.Sprintf(`{"access_token":"{access_token}","expires_in":3600,"id_token":%q,"token_type":"Bearer"}`, appleIDToken(t, now(), ""))
		}},
		Public: map[string]providertest.Response{appleKeysURL: {Body: appleJWKS(t)}},
	})
	cfg := &presets.Entry{Name: "apple", ClientID: clientID,
		Settings: map[string]string{"team_id": appleTeam, "key_id": appleKey, "private_key": p8}}
	if errs := cfg.Check(); len(errs) > 0 {
		t.Fatalf("check: %v", errs)
	}
	p, err := providertest.Open(context.Background(), "apple", cfg, providertest.RedirectURL("apple"), providerconfig.Env{RewriteURL: f.Rewrite, Now: now})
	if err != nil {
		t.Fatal(err)
	}

	login := func(mutate func(*providers.AuthRequest)) (*providers.Login, error) {
		req := providertest.NewAuthRequest("apple")
		q := providertest.AuthorizeLogin(t, p, req)
		a := f.LastAuthorize()
		if a.Get("response_mode") != "form_post" || a.Get("nonce") != req.Nonce || a.Get("scope") != "name email" {
			t.Errorf("authorize query %v", a)
		}
		// Apple posts the user's name once, with the code.
		q.Set("user", `{"name":{"firstName":"Ada","lastName":"Lovelace"},"email":"ada@privaterelay.appleid.com"}`)
		if mutate != nil {
			mutate(&req)
		}
		return p.Exchange(context.Background(), providers.Callback{Code: q.Get("code"), Form: q}, req)
	}
	l, err := login(nil)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	want := providers.Identity{Subject: appleSub, Email: "ada@privaterelay.appleid.com", EmailVerified: true, Name: "Ada Lovelace"}
	if l.Identity != want || l.Token.IDToken == "" || l.Token.RefreshToken == "" {
		t.Fatalf("login %+v %v", l.Identity, l.Token)
	}

	tok, err := p.Refresh(context.Background(), providers.RefreshRequest{RefreshToken: l.Token.RefreshToken, Subject: appleSub})
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if tok.RefreshToken != l.Token.RefreshToken || tok.AccessToken == l.Token.AccessToken {
		t.Fatalf("refresh %v", tok)
	}
	// The client secret is reused while fresh and renewed before expiry.
	clock.Add(int64(23*time.Hour/time.Second) + 60)
	if _, err := p.Refresh(context.Background(), providers.RefreshRequest{RefreshToken: l.Token.RefreshToken}); err != nil {
		t.Fatalf("Refresh after a day: %v", err)
	}
	mu.Lock()
	if len(secrets) != 3 || secrets[0] != secrets[1] || secrets[1] == secrets[2] {
		t.Errorf("client secrets: %d, reuse %v, renewal %v", len(secrets), secrets[0] == secrets[1], secrets[1] != secrets[2])
	}
	mu.Unlock()

	_, err = login(func(r *providers.AuthRequest) { r.Nonce = "nonce-other" })
	var ve *providers.VerificationError
	if !errors.As(err, &ve) || ve.Check != "nonce" {
		t.Fatalf("wrong nonce: %v", err)
	}
	// The key set is fetched once and kept across logins.
	if n := keyFetches(f); n != 1 {
		t.Errorf("key set fetched %d times over two logins, want 1", n)
	}
}

func TestAppleCheckRejectsBadKey(t *testing.T) {
	cfg := &presets.Entry{Name: "apple", ClientID: clientID,
		Settings: map[string]string{"team_id": appleTeam, "key_id": appleKey, "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"}}
	errs := cfg.Check()
	if len(errs) != 1 || errs[0].Field != "settings.private_key" {
		t.Fatalf("errs %v", errs)
	}
}

// appleLogin builds an Apple provider against a fake whose token endpoint
// returns idToken(now, nonce) and whose key set answer is jwks, and runs
// one login.
func appleLogin(t *testing.T, jwks providertest.Response, idToken func(now time.Time, nonce string) string) (*providertest.Fake, error) {
	t.Helper()
	_, p8 := providertest.AppleP8(t)
	now := func() time.Time { return fixedNow }
	pr, _ := presets.Lookup("apple")
	f := providertest.New(t, providertest.Spec{
		ClientID: clientID, AuthStyle: "post", CheckSecret: func(string) error { return nil },
		AuthURL: pr.AuthURL, TokenURL: pr.TokenURL,
		Token: providertest.Response{BodyFunc: func(g providertest.Grant) string {
			return fmt.Sprintf(`{"access_token":"{access_token}","expires_in":3600,"id_token":%q,"token_type":"Bearer"}`, idToken(now(), g.Nonce))
		}},
		Public: map[string]providertest.Response{appleKeysURL: jwks},
	})
	cfg := &presets.Entry{Name: "apple", ClientID: clientID,
		Settings: map[string]string{"team_id": appleTeam, "key_id": appleKey, "private_key": p8}}
	p, err := providertest.Open(context.Background(), "apple", cfg, providertest.RedirectURL("apple"), providerconfig.Env{RewriteURL: f.Rewrite, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	req := providertest.NewAuthRequest("apple")
	q := providertest.AuthorizeLogin(t, p, req)
	l, err := p.Exchange(context.Background(), providers.Callback{Code: q.Get("code"), Form: q}, req)
	if err == nil && l.Identity.Subject != appleSub {
		t.Errorf("identity %+v", l.Identity)
	}
	return f, err
}

// TestAppleIDTokenRefused covers the ID token checks of contract §7: each
// token is refused with the check it fails, and no login results.
func TestAppleIDTokenRefused(t *testing.T) {
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwks := providertest.Response{Body: appleJWKS(t)}
	cases := []struct {
		name  string
		key   *rsa.PrivateKey
		edit  func(map[string]any)
		check string
	}{
		{"unknown key", other, nil, "signature"},
		{"no iat", testenv.SigningKey(), func(c map[string]any) { delete(c, "iat") }, "iat"},
		{"no sub", testenv.SigningKey(), func(c map[string]any) { delete(c, "sub") }, "sub"},
		{"other issuer", testenv.SigningKey(), func(c map[string]any) { c["iss"] = "https://evil.example" }, "iss"},
		{"other audience", testenv.SigningKey(), func(c map[string]any) { c["aud"] = "someone-else" }, "aud"},
		{"expired", testenv.SigningKey(), func(c map[string]any) { c["exp"] = fixedNow.Add(-time.Minute).Unix() }, "exp"},
		{"several audiences, no azp", testenv.SigningKey(), func(c map[string]any) { c["aud"] = []string{clientID, "other"} }, "azp"},
		{"foreign azp", testenv.SigningKey(), func(c map[string]any) { c["azp"] = "other" }, "azp"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := appleLogin(t, jwks, func(now time.Time, nonce string) string {
				return signAppleIDToken(t, tc.key, now, nonce, tc.edit)
			})
			var ve *providers.VerificationError
			if !errors.As(err, &ve) || ve.Check != tc.check {
				t.Fatalf("got %v, want a VerificationError %q", err, tc.check)
			}
		})
	}
}

// TestAppleKeySetAnswerNotQuoted: a key set answer that is no JWKS fails
// the login as an outage (try again), without its body ending up in the
// error.
func TestAppleKeySetAnswerNotQuoted(t *testing.T) {
	const marker = "secret-marker-in-body"
	for name, resp := range map[string]providertest.Response{
		"html 200": {ContentType: "text/html", Body: "<html>" + marker + "</html>"},
		"json 200": {Body: `{"keys":"` + marker + `"}`},
		"500":      {Status: 500, ContentType: "text/html", Body: marker},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f, err := appleLogin(t, resp, func(now time.Time, nonce string) string { return appleIDToken(t, now, nonce) })
			if _, ok := errors.AsType[*providers.UnavailableError](err); !ok || providers.IsPermanent(err) {
				t.Fatalf("got %v, want a transient UnavailableError", err)
			}
			if strings.Contains(err.Error(), marker) {
				t.Errorf("error quotes the key set answer: %v", err)
			}
			if keyFetches(f) == 0 {
				t.Error("the key set was not fetched")
			}
		})
	}
}

// TestAppleRefreshIDToken covers contract §7 for refreshes: an ID token in
// a refresh answer is verified like the login's (no nonce) and must name
// the grant's user; an answer without one is accepted; a key set that
// cannot be fetched is a transient failure, not a verdict.
func TestAppleRefreshIDToken(t *testing.T) {
	_, p8 := providertest.AppleP8(t)
	now := func() time.Time { return fixedNow }
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	// refreshIDToken is the id_token of the next refresh answer ("" for
	// none); keysDown makes the key set answer unusable.
	var refreshIDToken atomic.Pointer[string]
	var keysDown atomic.Bool
	pr, _ := presets.Lookup("apple")
	jwks := appleJWKS(t)
	f := providertest.New(t, providertest.Spec{
		ClientID: clientID, AuthStyle: "post", CheckSecret: func(string) error { return nil }, PKCE: pr.PKCE,
		AuthURL: pr.AuthURL, TokenURL: pr.TokenURL,
		Token: providertest.Response{BodyFunc: func(g providertest.Grant) string {
			return fmt.Sprintf(`{"access_token":"{access_token}","expires_in":3600,"id_token":%q,"refresh_token":"{refresh_token}","token_type":"Bearer"}`, appleIDToken(t, now(), g.Nonce))
		}},
		Refresh: providertest.Response{BodyFunc: func(providertest.Grant) string {
			if id := *refreshIDToken.Load(); id != "" {
				return fmt.Sprintf(`{"access_token":"{access_token}","expires_in":3600,"id_token":%q,"token_type":"Bearer"}`, id)
			}
			return `{"access_token":"{access_token}","expires_in":3600,"token_type":"Bearer"}`
		}},
		Public: map[string]providertest.Response{appleKeysURL: {BodyFunc: func(providertest.Grant) string {
			if keysDown.Load() {
				return "<html>maintenance</html>"
			}
			return jwks
		}}},
	})
	cfg := &presets.Entry{Name: "apple", ClientID: clientID,
		Settings: map[string]string{"team_id": appleTeam, "key_id": appleKey, "private_key": p8}}
	p, err := providertest.Open(context.Background(), "apple", cfg, providertest.RedirectURL("apple"), providerconfig.Env{RewriteURL: f.Rewrite, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	req := providertest.NewAuthRequest("apple")
	q := providertest.AuthorizeLogin(t, p, req)
	l, err := p.Exchange(context.Background(), providers.Callback{Code: q.Get("code"), Form: q}, req)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}

	good := appleIDToken(t, now(), "")
	cases := []struct {
		name    string
		idToken string
		subject string
		keyDown bool
		check   string // "" accepted; "transient" a non-permanent error; else the VerificationError check
	}{
		{"good id token", good, appleSub, false, ""},
		{"good id token, subject unknown", good, "", false, ""},
		{"no id token", "", appleSub, false, ""},
		{"another user", signAppleIDToken(t, testenv.SigningKey(), now(), "", func(c map[string]any) { c["sub"] = "000999.other" }), appleSub, false, "sub"},
		{"unknown key", signAppleIDToken(t, other, now(), "", nil), appleSub, false, "signature"},
		{"other audience", signAppleIDToken(t, testenv.SigningKey(), now(), "", func(c map[string]any) { c["aud"] = "someone-else" }), appleSub, false, "aud"},
		{"other issuer", signAppleIDToken(t, testenv.SigningKey(), now(), "", func(c map[string]any) { c["iss"] = "https://evil.example" }), appleSub, false, "iss"},
		{"no iat", signAppleIDToken(t, testenv.SigningKey(), now(), "", func(c map[string]any) { delete(c, "iat") }), appleSub, false, "iat"},
		{"expired", signAppleIDToken(t, testenv.SigningKey(), now(), "", func(c map[string]any) { c["exp"] = fixedNow.Add(-time.Minute).Unix() }), appleSub, false, "exp"},
		{"key set unreachable", signAppleIDToken(t, other, now(), "", nil), appleSub, true, "transient"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			refreshIDToken.Store(&tc.idToken)
			keysDown.Store(tc.keyDown)
			tok, err := p.Refresh(context.Background(), providers.RefreshRequest{RefreshToken: l.Token.RefreshToken, Subject: tc.subject})
			switch tc.check {
			case "":
				if err != nil {
					t.Fatalf("Refresh: %v", err)
				}
				if tok.AccessToken == "" || tok.IDToken != tc.idToken {
					t.Fatalf("refresh %v", tok)
				}
			case "transient":
				if err == nil || providers.IsPermanent(err) {
					t.Fatalf("got %v, want a transient error", err)
				}
				if _, ok := errors.AsType[*providers.UnavailableError](err); !ok {
					t.Fatalf("got %T %v, want an UnavailableError", err, err)
				}
			default:
				ve, ok := errors.AsType[*providers.VerificationError](err)
				if !ok || ve.Check != tc.check || !providers.IsPermanent(err) {
					t.Fatalf("got %v, want a permanent VerificationError %q", err, tc.check)
				}
			}
			if err != nil && strings.Contains(err.Error(), tc.idToken) {
				t.Errorf("error quotes the ID token: %v", err)
			}
		})
	}
}
