package presets_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/sessionbridge/sessionbridge/bridge/config"
	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/presets"
	"github.com/sessionbridge/sessionbridge/providers/providertest"
)

const (
	appleTeam = "TEAM123456"
	appleKey  = "KEY1234567"
	appleSub  = "001234.5a7c9d0e8f1b2c3d4e5f60718293a4b5.1234"
)

func appleP8(t *testing.T) (*ecdsa.PrivateKey, string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return k, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// appleIDToken signs an ID token as Apple's token endpoint returns it.
func appleIDToken(t testingT, now time.Time, nonce string) string {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: devKey()}, (&jose.SignerOptions{}).WithHeader("kid", "W6WcOKB"))
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
	s, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestApple(t *testing.T) {
	key, p8 := appleP8(t)
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
	})
	cfg := config.Provider{Key: "apple", Type: "apple", ClientID: clientID,
		Settings: map[string]string{"team_id": appleTeam, "key_id": appleKey, "private_key": p8}}
	if errs := (presets.Checker{}).CheckPreset(&cfg); len(errs) > 0 {
		t.Fatalf("check: %v", errs)
	}
	p, err := presets.Build(context.Background(), cfg, redirectFor("apple"), presets.Options{RewriteURL: f.Rewrite, Now: now})
	if err != nil {
		t.Fatal(err)
	}

	login := func(mutate func(*providers.AuthRequest)) (*providers.Login, error) {
		req := newAuthRequest("apple")
		u, err := p.AuthCodeURL(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		q, err := providertest.Authorize(u)
		if err != nil {
			t.Fatal(err)
		}
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
}

func TestAppleCheckRejectsBadKey(t *testing.T) {
	cfg := config.Provider{Key: "apple", Type: "apple", ClientID: clientID,
		Settings: map[string]string{"team_id": appleTeam, "key_id": appleKey, "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"}}
	errs := (presets.Checker{}).CheckPreset(&cfg)
	if len(errs) != 1 || errs[0].Field != "settings.private_key" {
		t.Fatalf("errs %v", errs)
	}
}
