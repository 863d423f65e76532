package oidc

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/internal/keyset"
	"github.com/sessionbridge/sessionbridge/providers/internal/tokenhttp"
)

// idClaims is what the bridge reads from a verified ID token.
type idClaims struct {
	sub   string
	nonce string
	raw   map[string]any
}

// verifyIDToken runs go-oidc's verification (signature, iss, aud, exp,
// nbf) and then the checks go-oidc leaves to its callers: sub and iat
// present, azp, and at_hash when the token has one. The nonce is checked by
// the caller because a refreshed ID token carries none. When the signature
// could not be checked because the key set could not be fetched, the error
// is an *errKeysUnavailable (an outage, not a verdict on the token).
func (p *Provider) verifyIDToken(ctx context.Context, m *metadata, raw, accessToken string) (*idClaims, error) {
	vctx, note := keyset.Watch(ctx)
	idt, err := m.verifier.Verify(vctx, raw)
	if err != nil {
		if ctx.Err() != nil {
			// The caller gave up while keys were fetched: not a verdict
			// on the token, so not a (permanent) VerificationError.
			return nil, fmt.Errorf("oidc: verifying the ID token: %w", ctx.Err())
		}
		if note.Unavailable() {
			return nil, &errKeysUnavailable{provider: p.key}
		}
		return nil, p.classify(ctx, m.sigVerifier, raw, err)
	}
	return p.checkClaims(idt, accessToken)
}

// insecureVerifyIDTokenClaims makes every check of verifyIDToken but the
// signature's. See Provider.Refresh for the one case it serves.
func (p *Provider) insecureVerifyIDTokenClaims(ctx context.Context, m *metadata, raw, accessToken string) (*idClaims, error) {
	// The signature cannot be checked, but its algorithm can: never
	// "none", never an HMAC.
	if _, err := jose.ParseSignedCompact(raw, joseAlgs(m.algs)); err != nil {
		return nil, &providers.VerificationError{Check: "signature", Err: errors.New("the ID token is not signed with an accepted algorithm")}
	}
	idt, err := m.insecureClaimsVerifier.Verify(ctx, raw)
	if err != nil {
		return nil, p.classify(ctx, m.insecureParseVerifier, raw, err)
	}
	return p.checkClaims(idt, accessToken)
}

func joseAlgs(algs []string) []jose.SignatureAlgorithm {
	out := make([]jose.SignatureAlgorithm, len(algs))
	for i, a := range algs {
		out[i] = jose.SignatureAlgorithm(a)
	}
	return out
}

// errKeysUnavailable: the provider's key set could not be fetched, so an
// ID token's signature could not be checked. It unwraps to a
// *providers.UnavailableError: transient, a login may be tried again.
type errKeysUnavailable struct{ provider string }

func (e *errKeysUnavailable) Error() string {
	return fmt.Sprintf("oidc: provider %q: the key set (jwks_uri) could not be fetched to check the ID token's signature", e.provider)
}

func (e *errKeysUnavailable) Unwrap() error {
	return &providers.UnavailableError{Provider: e.provider, Err: errors.New("the key set (jwks_uri) could not be fetched")}
}

// checkClaims makes the checks go-oidc leaves to its callers.
func (p *Provider) checkClaims(idt *gooidc.IDToken, accessToken string) (*idClaims, error) {
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return nil, &providers.VerificationError{Check: "id_token", Err: err}
	}
	if idt.Subject == "" {
		return nil, &providers.VerificationError{Check: "sub", Err: errors.New("the ID token has no sub")}
	}
	if _, ok := claims["iat"]; !ok || idt.IssuedAt.IsZero() {
		return nil, &providers.VerificationError{Check: "iat", Err: errors.New("the ID token has no iat")}
	}
	azp, hasAzp := claims["azp"]
	if len(idt.Audience) > 1 && !hasAzp {
		return nil, &providers.VerificationError{Check: "azp", Err: errors.New("the ID token has several audiences and no azp")}
	}
	if hasAzp {
		if s, ok := azp.(string); !ok || s != p.clientID {
			return nil, &providers.VerificationError{Check: "azp", Err: fmt.Errorf("the ID token's azp is not the client %q", p.clientID)}
		}
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(accessToken); err != nil {
			return nil, &providers.VerificationError{Check: "at_hash", Err: err}
		}
	}
	return &idClaims{sub: idt.Subject, nonce: idt.Nonce, raw: claims}, nil
}

// classify names the check a refused ID token failed. go-oidc only types
// the expiry error, so the token is read again with sig (which checks the
// signature alone, or nothing) and, when that holds, its claims are
// compared by value. The token stays refused whatever this finds.
func (p *Provider) classify(ctx context.Context, sig *gooidc.IDTokenVerifier, raw string, err error) error {
	if _, ok := errors.AsType[*gooidc.TokenExpiredError](err); ok {
		return &providers.VerificationError{Check: "exp", Err: err}
	}
	t, serr := sig.Verify(ctx, raw)
	if serr != nil {
		return &providers.VerificationError{Check: "signature", Err: quietKeysError(err)}
	}
	switch {
	case t.Issuer != p.issuer:
		return &providers.VerificationError{Check: "iss", Err: err}
	case !slices.Contains(t.Audience, p.clientID):
		return &providers.VerificationError{Check: "aud", Err: err}
	default:
		return &providers.VerificationError{Check: "id_token", Err: err}
	}
}

// quietKeysError keeps a failed key fetch from quoting the key server's
// answer: go-oidc appends the whole body to a decode failure, and the error
// ends up in login errors and logs.
func quietKeysError(err error) error {
	msg := err.Error()
	if i := strings.Index(msg, "failed to decode keys"); i >= 0 {
		return &shortError{msg: msg[:i] + "the key set answer is not a JSON Web Key Set", err: err}
	}
	return shorten(err)
}

// identity reads the user's identity from the ID token's claims.
func (c *idClaims) identity() providers.Identity {
	email := str(c.raw, "email")
	return providers.Identity{
		Subject:       c.sub,
		Email:         email,
		EmailVerified: email != "" && truthy(c.raw["email_verified"]),
		Name:          displayName(c.raw),
	}
}

// hasProfile reports whether the ID token alone names the user fully: an
// email with its email_verified, and a display name. Then the login skips
// the user-info request (a round trip to the provider), as other relying
// parties do; when user-info is asked, its sub must still match.
func (c *idClaims) hasProfile() bool {
	_, verified := c.raw["email_verified"]
	return str(c.raw, "email") != "" && verified && displayName(c.raw) != ""
}

// mergeUserinfo lets the user-info answer override the ID token's email
// (with its own email_verified) and fill a missing name.
func mergeUserinfo(id providers.Identity, ui map[string]any) providers.Identity {
	if email := str(ui, "email"); email != "" {
		verified, ok := ui["email_verified"]
		switch {
		case ok:
			id.EmailVerified = truthy(verified)
		case email != id.Email:
			id.EmailVerified = false
		}
		id.Email = email
	}
	if id.Name == "" {
		id.Name = displayName(ui)
	}
	return id
}

// displayName is name, else preferred_username, else given and family name.
func displayName(claims map[string]any) string {
	if n := str(claims, "name"); n != "" {
		return n
	}
	if n := str(claims, "preferred_username"); n != "" {
		return n
	}
	return strings.TrimSpace(str(claims, "given_name") + " " + str(claims, "family_name"))
}

// str returns a string claim, "" when absent or of another type.
func str(claims map[string]any, name string) string {
	s, _ := claims[name].(string)
	return strings.TrimSpace(s)
}

// truthy reads email_verified, which some providers send as "true".
func truthy(v any) bool {
	switch b := v.(type) {
	case bool:
		return b
	case string:
		return strings.EqualFold(b, "true")
	}
	return false
}

// equalSecret compares in constant time; two empty values are not equal.
func equalSecret(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// userinfo calls the user-info endpoint and checks that it describes the
// ID token's subject. Errors describe the answer without quoting it.
func (p *Provider) userinfo(ctx context.Context, m *metadata, accessToken, sub string) (map[string]any, error) {
	rec := &tokenhttp.Record{}
	ui, err := m.provider.UserInfo(tokenhttp.WithRecord(ctx, p.apiClient, rec), oauth2.StaticTokenSource(&oauth2.Token{AccessToken: accessToken}))
	if err != nil {
		switch {
		case rec.Status != 0 && rec.Status != 200:
			return nil, fmt.Errorf("oidc: user-info endpoint answered HTTP %d", rec.Status)
		case rec.Status != 0:
			return nil, fmt.Errorf("oidc: user-info answer could not be used (content-type %q)", rec.ContentType)
		default:
			return nil, fmt.Errorf("oidc: user-info request failed: %w", err)
		}
	}
	if ui.Subject != sub {
		return nil, &providers.VerificationError{Check: "userinfo_sub", Err: errors.New("the user-info sub is not the ID token's")}
	}
	var claims map[string]any
	if err := ui.Claims(&claims); err != nil {
		return nil, fmt.Errorf("oidc: user-info claims: %w", err)
	}
	return claims, nil
}
