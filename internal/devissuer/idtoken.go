package devissuer

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// initSigner derives the key ID (the RFC 7638 thumbprint, so the same key
// always has the same kid) and builds the RS256 signer.
func (i *Issuer) initSigner() error {
	if i.opts.ES256 {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return fmt.Errorf("devissuer: generate key: %w", err)
		}
		i.signKey, i.pubKey, i.alg = k, &k.PublicKey, jose.ES256
	} else {
		i.signKey, i.pubKey, i.alg = i.key, &i.key.PublicKey, jose.RS256
	}
	pub := jose.JSONWebKey{Key: i.pubKey}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return fmt.Errorf("devissuer: key thumbprint: %w", err)
	}
	i.kid = base64.RawURLEncoding.EncodeToString(tp)
	i.signer, err = newSigner(i.signKey, i.alg, i.kid)
	return err
}

func newSigner(k crypto.Signer, alg jose.SignatureAlgorithm, kid string) (jose.Signer, error) {
	s, err := jose.NewSigner(
		jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: k, KeyID: kid, Algorithm: string(alg)}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return nil, fmt.Errorf("devissuer: signer: %w", err)
	}
	return s, nil
}

// badSigner signs with a second key under the real kid, so a verifier finds
// the right public key and the signature check fails. The key is made on
// first use: most issuers never need it.
func (i *Issuer) badSigner() (jose.Signer, error) {
	i.badOnce.Do(func() {
		var k crypto.Signer
		var err error
		if i.alg == jose.ES256 {
			k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		} else {
			k, err = rsa.GenerateKey(rand.Reader, 2048)
		}
		if err != nil {
			i.badErr = err
			return
		}
		i.badSign, i.badErr = newSigner(k, i.alg, i.kid)
	})
	return i.badSign, i.badErr
}

// JWKS returns the public key set served at /jwks.
func (i *Issuer) JWKS() jose.JSONWebKeySet {
	return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key:       i.pubKey,
		KeyID:     i.kid,
		Algorithm: string(i.alg),
		Use:       "sig",
	}}}
}

// idTokenParams is what goes into one ID token.
type idTokenParams struct {
	issuer      string
	user        User
	scope       []string
	nonce       string // "" on refresh: OIDC Core §12.2 forbids echoing it
	authTime    time.Time
	accessToken string // for at_hash
	sid         string // the login's provider session
}

// signIDToken builds and signs an ID token; Hooks.IDToken may alter it.
func (i *Issuer) signIDToken(p idTokenParams) (string, error) {
	now := i.now()
	c := map[string]any{
		"iss":       p.issuer,
		"sub":       p.user.Subject,
		"aud":       i.opts.ClientID,
		"exp":       now.Add(i.idTokenTTL()).Unix(),
		"iat":       now.Unix(),
		"auth_time": p.authTime.Unix(),
	}
	if p.nonce != "" {
		c["nonce"] = p.nonce
	}
	if p.sid != "" {
		c["sid"] = p.sid
	}
	if p.accessToken != "" {
		sum := sha256.Sum256([]byte(p.accessToken))
		c["at_hash"] = base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
	}
	for k, v := range userClaims(p.user, p.scope) {
		c[k] = v
	}
	for k, v := range i.opts.ExtraIDTokenClaims {
		c[k] = v
	}
	sign := func(c map[string]any) (string, error) { return jwt.Signed(i.signer).Claims(c).Serialize() }
	if i.hooks.IDToken != nil {
		return i.hooks.IDToken(c, sign)
	}
	return sign(c)
}

// userClaims returns the standard claims the granted scopes release (OIDC
// Core §5.4): email and email_verified for "email", name for "profile".
func userClaims(u User, scope []string) map[string]any {
	c := map[string]any{}
	if slices.Contains(scope, "email") && u.Email != "" {
		c["email"] = u.Email
		c["email_verified"] = u.EmailVerified
	}
	if slices.Contains(scope, "profile") && u.Name != "" {
		c["name"] = u.Name
	}
	return c
}
