// Package jwtauth issues and verifies the JWTs of Appwrite's
// account.createJWT (POST /v1/account/jwts): short-lived HS256 tokens
// that name a user and the session they were made from, which a browser
// app hands to its backend (X-Appwrite-JWT).
//
// The signing keys are derived with HKDF-SHA256 from the configured
// session keys, so there is no extra secret to manage, and they rotate as
// cookies do: the first session key signs, every key verifies (the key ID
// in the header picks it). A valid signature only says the bridge issued
// the token; the caller must still check that its session is live.
package jwtauth

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// MaxTokenLength bounds what Verify parses.
const MaxTokenLength = 4096

// hkdfInfo separates this key from every other use of a session key.
const hkdfInfo = "sessionbridge jwt signing key v1"

// Claims are what a token says.
type Claims struct {
	UserID    string
	SessionID string
	Expiry    time.Time
}

// appwriteClaims are the private claims, named as Appwrite names them.
type appwriteClaims struct {
	UserID    string `json:"userId"`
	SessionID string `json:"sessionId"`
}

type key struct {
	id     string
	secret []byte
}

// Signer signs and verifies tokens. It is safe for concurrent use.
type Signer struct {
	keys   []key
	signer jose.Signer
	now    func() time.Time
}

// ErrInvalid is returned for every token Verify refuses (malformed,
// unknown key, bad signature, expired).
var ErrInvalid = errors.New("jwtauth: invalid token")

// New derives one signing key per session key; the first signs.
func New(sessionKeys [][]byte, now func() time.Time) (*Signer, error) {
	if len(sessionKeys) == 0 {
		return nil, errors.New("jwtauth: no session keys")
	}
	if now == nil {
		now = time.Now
	}
	s := &Signer{now: now}
	for _, sk := range sessionKeys {
		secret, err := hkdf.Key(sha256.New, sk, nil, hkdfInfo, 32)
		if err != nil {
			return nil, fmt.Errorf("jwtauth: derive key: %w", err)
		}
		sum := sha256.Sum256(secret)
		s.keys = append(s.keys, key{id: hex.EncodeToString(sum[:8]), secret: secret})
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: s.keys[0].secret},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), s.keys[0].id))
	if err != nil {
		return nil, fmt.Errorf("jwtauth: %w", err)
	}
	s.signer = signer
	return s, nil
}

// Sign returns a token for the session that lives for ttl.
func (s *Signer) Sign(userID, sessionID string, ttl time.Duration) (string, error) {
	now := s.now()
	std := jwt.Claims{IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(ttl))}
	return jwt.Signed(s.signer).Claims(std).Claims(appwriteClaims{UserID: userID, SessionID: sessionID}).Serialize()
}

// Verify checks a token's signature and expiry and returns its claims.
func (s *Signer) Verify(token string) (Claims, error) {
	if len(token) > MaxTokenLength {
		return Claims{}, ErrInvalid
	}
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.HS256})
	if err != nil || len(parsed.Headers) != 1 {
		return Claims{}, ErrInvalid
	}
	var secret []byte
	for _, k := range s.keys {
		if k.id == parsed.Headers[0].KeyID {
			secret = k.secret
		}
	}
	if secret == nil {
		return Claims{}, ErrInvalid
	}
	var (
		std jwt.Claims
		own appwriteClaims
	)
	if err := parsed.Claims(secret, &std, &own); err != nil {
		return Claims{}, ErrInvalid
	}
	if std.Expiry == nil || std.ValidateWithLeeway(jwt.Expected{Time: s.now()}, 0) != nil ||
		own.UserID == "" || own.SessionID == "" {
		return Claims{}, ErrInvalid
	}
	return Claims{UserID: own.UserID, SessionID: own.SessionID, Expiry: std.Expiry.Time()}, nil
}
