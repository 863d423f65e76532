package presets

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/subtle"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/internal/keyset"
	"github.com/sessionbridge/sessionbridge/providers/oauth2"
)

// Sign in with Apple differs from a plain OAuth2 provider in three ways:
//   - the client secret is an ES256 JWT signed with the developer's .p8
//     key (at most six months valid); it is made here and renewed well
//     before it expires;
//   - requesting name or email requires response_mode=form_post, so the
//     callback is a cross-site POST (the bridge accepts POST callbacks);
//   - there is no user-info endpoint: the identity is in the ID token, and
//     the name arrives once, on the first login, in the `user` form field.
const (
	appleAudience       = "https://appleid.apple.com"
	appleSecretLifetime = 24 * time.Hour
	appleRenewBefore    = time.Hour
)

type apple struct {
	clientID string
	teamID   string
	keyID    string
	key      *ecdsa.PrivateKey

	// keys verifies the ID tokens; one per provider, so Apple's key set
	// is cached across logins.
	keys *appleKeys

	mu     sync.Mutex
	secret string
	exp    time.Time
}

func newApple(env hookEnv) (*apple, error) {
	key, err := parseP8(env.settings["private_key"])
	if err != nil {
		return nil, fmt.Errorf("apple: settings.private_key: %w", err)
	}
	keys := newAppleKeys(env.clientID, env.opts.Rewrite(appleKeysURL), env.opts.HTTPClient, env.opts.Now)
	return &apple{clientID: env.clientID, teamID: env.settings["team_id"], keyID: env.settings["key_id"], key: key, keys: keys}, nil
}

// parseP8 reads Apple's .p8 file: a PKCS#8 PEM block holding a P-256 key.
func parseP8(text string) (*ecdsa.PrivateKey, error) {
	// A key passed through an environment variable often has its line
	// breaks written as \n.
	text = strings.ReplaceAll(text, `\n`, "\n")
	block, _ := pem.Decode([]byte(strings.TrimSpace(text)))
	if block == nil {
		return nil, errors.New("is not a PEM block (paste the .p8 file's contents)")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, errors.New("is not a PKCS#8 private key (the .p8 file from Apple)")
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, errors.New("is not a P-256 (ES256) key")
	}
	return ec, nil
}

// AuthURLParams asks for the form_post response mode that name/email
// scopes require, and sends the login's nonce, checked in the ID token.
func (a *apple) AuthURLParams(req providers.AuthRequest) url.Values {
	v := url.Values{"response_mode": {"form_post"}}
	if req.Nonce != "" {
		v.Set("nonce", req.Nonce)
	}
	return v
}

// ClientSecret returns the cached JWT, signing a new one when less than
// appleRenewBefore of its life is left.
func (a *apple) ClientSecret(now time.Time) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.secret != "" && now.Before(a.exp.Add(-appleRenewBefore)) {
		return a.secret, nil
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: a.key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", a.keyID))
	if err != nil {
		return "", err
	}
	exp := now.Add(appleSecretLifetime)
	s, err := jwt.Signed(signer).Claims(jwt.Claims{
		Issuer:   a.teamID,
		Subject:  a.clientID,
		Audience: jwt.Audience{appleAudience},
		IssuedAt: jwt.NewNumericDate(now),
		Expiry:   jwt.NewNumericDate(exp),
	}).Serialize()
	if err != nil {
		return "", err
	}
	a.secret, a.exp = s, exp
	return s, nil
}

// appleIDClaims are the ID-token members read beyond what go-oidc checks.
type appleIDClaims struct {
	IssuedAt      json.RawMessage `json:"iat"`
	Azp           *string         `json:"azp"`
	Email         string          `json:"email"`
	EmailVerified any             `json:"email_verified"` // true or "true"
}

// CompleteIdentity verifies the ID token of the token answer (see
// verifyIDToken, with the login's nonce) and reads the identity from it.
// TLS to the token endpoint alone would do under OpenID Connect Core
// §3.1.3.7, but the contract verifies every ID token the same way, and a
// signature check also covers a tampering proxy.
func (a *apple) CompleteIdentity(ctx context.Context, in oauth2.IdentityInput, id *providers.Identity) error {
	raw, _ := in.Token["id_token"].(string)
	if raw == "" {
		return &providers.VerificationError{Check: "id_token", Err: errors.New("the token answer from Apple has no id_token")}
	}
	idt, c, err := a.verifyIDToken(ctx, raw)
	if err != nil {
		return err
	}
	if in.Request.Nonce != "" && subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(in.Request.Nonce)) != 1 {
		return &providers.VerificationError{Check: "nonce", Err: errors.New("the ID token's nonce does not match the login's")}
	}
	id.Subject = idt.Subject
	id.Email = c.Email
	id.EmailVerified = c.Email != "" && oauth2.ParseBool(fmt.Sprint(c.EmailVerified))
	if name := appleUserName(in.Callback.Form); name != "" {
		id.Name = name
	}
	return nil
}

// CheckRefresh verifies an ID token in a refresh answer as at login, but
// without a nonce (contract §7: a refreshed ID token carries none), and
// requires that it names the grant's user. The issuer and audience are
// fixed by the verifier, so they are the login's. An answer without an ID
// token is accepted: Apple may leave it out, and the access token alone
// names no user.
func (a *apple) CheckRefresh(ctx context.Context, in oauth2.RefreshInput) error {
	if in.IDToken == "" {
		return nil
	}
	idt, _, err := a.verifyIDToken(ctx, in.IDToken)
	if err != nil {
		// A key server outage is an *UnavailableError: retried later
		// (Apple keeps the refresh token), never the end of the session.
		return err
	}
	if in.Subject != "" && idt.Subject != in.Subject {
		return &providers.VerificationError{Check: "sub", Err: errors.New("the refreshed ID token names another user than the grant's")}
	}
	return nil
}

// verifyIDToken checks an Apple ID token: signature against Apple's
// published keys, iss, aud and exp (go-oidc), then sub and iat present,
// and azp when there are several audiences or it is present. The nonce is
// the caller's business. Failures are VerificationErrors naming the
// check, except when the context ended (not a verdict on the token).
func (a *apple) verifyIDToken(ctx context.Context, raw string) (*gooidc.IDToken, appleIDClaims, error) {
	var c appleIDClaims
	vctx, note := keyset.Watch(ctx)
	idt, err := a.keys.verifier.Verify(vctx, raw)
	if err != nil {
		if ctx.Err() != nil {
			// The caller gave up while keys were fetched: not a verdict
			// on the token, so not a (permanent) VerificationError.
			return nil, c, fmt.Errorf("apple: verifying the ID token: %w", ctx.Err())
		}
		if note.Unavailable() {
			// Apple's key set could not be fetched: no verdict on the
			// token; a login may be tried again, a refresh retried.
			return nil, c, &providers.UnavailableError{Provider: "apple", Err: errors.New("the key set of Apple could not be fetched to check the ID token's signature")}
		}
		return nil, c, a.keys.classify(ctx, raw, err)
	}
	if err := idt.Claims(&c); err != nil {
		return nil, c, &providers.VerificationError{Check: "id_token", Err: errors.New("the ID token's claims are malformed")}
	}
	if idt.Subject == "" {
		return nil, c, &providers.VerificationError{Check: "sub", Err: errors.New("the ID token has no sub")}
	}
	if len(c.IssuedAt) == 0 || string(c.IssuedAt) == "null" || idt.IssuedAt.IsZero() {
		return nil, c, &providers.VerificationError{Check: "iat", Err: errors.New("the ID token has no iat")}
	}
	if len(idt.Audience) > 1 && c.Azp == nil {
		return nil, c, &providers.VerificationError{Check: "azp", Err: errors.New("the ID token has several audiences and no azp")}
	}
	if c.Azp != nil && *c.Azp != a.clientID {
		return nil, c, &providers.VerificationError{Check: "azp", Err: fmt.Errorf("the ID token's azp is not the client %q", a.clientID)}
	}
	return idt, c, nil
}

// appleUserName reads {"name":{"firstName":..,"lastName":..}} from the
// `user` form field Apple posts on the first authorization only.
func appleUserName(form map[string][]string) string {
	vals := form["user"]
	if len(vals) == 0 || len(vals[0]) > 4096 {
		return ""
	}
	var u struct {
		Name struct {
			FirstName string `json:"firstName"`
			LastName  string `json:"lastName"`
		} `json:"name"`
	}
	if json.Unmarshal([]byte(vals[0]), &u) != nil {
		return ""
	}
	return strings.TrimSpace(strings.TrimSpace(u.Name.FirstName) + " " + strings.TrimSpace(u.Name.LastName))
}
