package devissuer

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"
)

// The issuer keeps only hashes of codes and tokens, so a heap dump or a
// debug print of its state never holds a usable credential.

// authCode is an issued authorization code, bound to the client, the
// redirect URI and the PKCE challenge of its authorization request.
type authCode struct {
	clientID    string
	redirectURI string
	challenge   string
	nonce       string
	scope       []string
	user        User
	authTime    time.Time
	expires     time.Time
	used        bool
	family      *family // the grant the code was redeemed for, once used
}

// accessToken is an issued opaque access token.
type accessToken struct {
	user    User
	scope   []string
	expires time.Time // zero: never
	family  *family
}

// family is one grant: the chain of refresh tokens descended from a single
// code exchange. Reuse detection revokes a family as a whole.
type family struct {
	clientID string
	user     User
	scope    []string
	authTime time.Time
	latest   string // hash of the current refresh token
	revoked  bool
	sid      string // the login's provider session, the ID tokens' sid
}

// refreshToken links an issued refresh token hash to its family.
type refreshToken struct {
	family *family
}

type state struct {
	codes   map[string]*authCode     // by hash
	access  map[string]*accessToken  // by hash
	refresh map[string]*refreshToken // by hash; superseded ones stay for reuse detection
	uses    map[string]int           // refresh token presentations by TokenID
	sids    []sidRecord              // provider sessions, in login order
}

// sidRecord is one login's provider session.
type sidRecord struct{ sid, sub string }

func newState() state {
	return state{
		codes:   map[string]*authCode{},
		access:  map[string]*accessToken{},
		refresh: map[string]*refreshToken{},
		uses:    map[string]int{},
	}
}

// revokeFamily revokes a grant and every access token issued under it.
// Callers hold i.mu.
func (s *state) revokeFamily(f *family) {
	if f == nil || f.revoked {
		return
	}
	f.revoked = true
	for h, at := range s.access {
		if at.family == f {
			delete(s.access, h)
		}
	}
}

// sweep drops expired codes and access tokens, at most once a minute, so a
// long-running development server does not grow without bound. Refresh
// tokens are kept: a superseded one must still be recognised as a replay.
// Callers hold i.mu.
func (i *Issuer) sweep(now time.Time) {
	if now.Sub(i.lastSwep) < time.Minute && now.After(i.lastSwep) {
		return
	}
	i.lastSwep = now
	for h, c := range i.st.codes {
		if now.After(c.expires) {
			delete(i.st.codes, h)
		}
	}
	for h, at := range i.st.access {
		if !at.expires.IsZero() && now.After(at.expires) {
			delete(i.st.access, h)
		}
	}
}

// newSecret returns a random URL-safe string with 256 bits of entropy.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

func tokenHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// defaultSubject derives a stable subject from an email address.
func defaultSubject(email string) string {
	h := sha256.Sum256([]byte("sessionbridge-dev:" + strings.ToLower(strings.TrimSpace(email))))
	return "dev-" + hex.EncodeToString(h[:12])
}

// normalizeUser fills in the subject and a name.
func normalizeUser(u User) User {
	u.Email = strings.TrimSpace(u.Email)
	u.Name = strings.TrimSpace(u.Name)
	if u.Subject == "" {
		u.Subject = defaultSubject(u.Email)
	}
	if u.Name == "" && u.Email != "" {
		u.Name, _, _ = strings.Cut(u.Email, "@")
	}
	return u
}

// IsLatestRefreshToken reports whether tok is the current refresh token of a
// live (not revoked) family.
func (i *Issuer) IsLatestRefreshToken(tok string) bool {
	h := tokenHash(tok)
	i.mu.Lock()
	defer i.mu.Unlock()
	rt, ok := i.st.refresh[h]
	return ok && !rt.family.revoked && rt.family.latest == h
}

// LiveRefreshTokens returns how many refresh tokens can be used right now:
// one per grant that is not revoked.
func (i *Issuer) LiveRefreshTokens() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	seen := map[*family]bool{}
	for _, rt := range i.st.refresh {
		if !rt.family.revoked {
			seen[rt.family] = true
		}
	}
	return len(seen)
}

// RevokeRefreshToken revokes the grant tok belongs to, as a user revoking
// the application at the provider would; it reports whether tok was known.
func (i *Issuer) RevokeRefreshToken(tok string) bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	rt, ok := i.st.refresh[tokenHash(tok)]
	if ok {
		i.st.revokeFamily(rt.family)
	}
	return ok
}

// RevokeAll revokes every grant and access token.
func (i *Issuer) RevokeAll() {
	i.mu.Lock()
	defer i.mu.Unlock()
	for _, rt := range i.st.refresh {
		i.st.revokeFamily(rt.family)
	}
	clear(i.st.access)
}

// AccessTokenValid reports whether tok is a known, unexpired access token.
func (i *Issuer) AccessTokenValid(tok string) bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	at, ok := i.st.access[tokenHash(tok)]
	return ok && (at.expires.IsZero() || i.now().Before(at.expires))
}
