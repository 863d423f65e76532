package testissuer

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/sessionbridge/sessionbridge/internal/devissuer"
)

// Faults makes the issuer misbehave on purpose so tests can check that a
// relying party notices. The zero value behaves correctly. Faults apply to
// requests that arrive after SetFaults.
type Faults struct {
	// ID token faults; they apply to ID tokens from the code exchange and
	// from refreshes alike.
	WrongIssuer             bool // iss is not the issuer URL
	WrongAudience           bool // aud is not the client ID
	ExtraAudienceWithoutAzp bool // aud is [client, other] and azp is missing
	BadSignature            bool // signed with another key (same kid)
	MissingSub              bool // no sub claim
	MissingIat              bool // no iat claim
	WrongNonce              bool // nonce differs from the one in the request
	Expired                 bool // exp (and iat) in the past
	// NoProfileClaims leaves email, email_verified and name out of ID
	// tokens (as some providers do), so a relying party must ask user-info.
	NoProfileClaims bool

	// UserinfoSubMismatch makes /userinfo answer with another sub than the
	// ID token's.
	UserinfoSubMismatch bool

	// CallbackIss controls RFC 9207 `iss` on the callback redirect: ""
	// behaves normally, "omit" leaves it out even when advertised, any other
	// value is sent as iss (advertised or not).
	CallbackIss string

	// Token endpoint faults for every grant type, checked in this order
	// after TokenDelay, and before client authentication.
	TokenDelay  time.Duration // wait this long before answering (or until the client gives up)
	TokenHTML   int           // when non-zero: answer with this status and an HTML body
	TokenStatus int           // when non-zero: answer with this status and a JSON error
	RetryAfter  string        // Retry-After header value sent with TokenStatus
	TokenError  string        // when set: answer 400 with this RFC 6749 error code

	// Refresh faults apply only to grant_type=refresh_token, after client
	// authentication and before the refresh token is checked, so the
	// presented token stays valid (it is not consumed or rotated).
	RefreshError      string // answer 400 with this error code
	RefreshStatus     int    // answer with this status and a JSON error
	RefreshRetryAfter string // Retry-After header value sent with RefreshStatus
	// Refresh200WithError answers 200 with a JSON body holding "error"
	// (invalid_grant, or Refresh200ErrorCode when set: Slack answers a
	// dead refresh token with ok false and invalid_refresh_token).
	Refresh200WithError bool
	Refresh200ErrorCode string
	// Refresh200WithoutAccessToken answers 200 with a token response that
	// has no access_token.
	Refresh200WithoutAccessToken bool
	// RefreshOmitExpiresIn leaves expires_in out of a successful refresh.
	RefreshOmitExpiresIn bool
	// RefreshOmitRefreshToken answers a successful refresh without a
	// refresh_token and without rotating: the presented token stays the
	// family's current one (a client must keep using it).
	RefreshOmitRefreshToken bool

	// RevokeFailFirst makes the first N revocation requests (counted
	// from SetFaults) answer RevokeStatus (default 503, with
	// temporarily_unavailable; 400 answers unsupported_token_type)
	// without revoking.
	RevokeFailFirst int
	RevokeStatus    int

	// DiscoveryDown makes discovery answer 503.
	DiscoveryDown bool
	// DiscoveryDelay holds discovery requests this long (or until the
	// client gives up) before answering: a slow first discovery.
	DiscoveryDelay time.Duration
	// JWKSDown makes the key set (jwks_uri) answer 503.
	JWKSDown bool
	// JWKSDelay holds key set requests this long (or until the client
	// gives up) before answering: a hanging key server.
	JWKSDelay time.Duration

	// RequireBasicAuth / RequirePostAuth reject the other client
	// authentication style with invalid_client.
	RequireBasicAuth bool
	RequirePostAuth  bool
}

// description is the error_description of every fault's error answer.
const description = "devissuer fault"

// hooks turns the active faults into devissuer hooks; each hook reads the
// faults when a request needs them, so SetFaults applies at once.
func (i *Issuer) hooks() devissuer.Hooks {
	return devissuer.Hooks{
		Intercept:             i.intercept,
		ClientAuthMethods:     i.clientAuthMethods,
		AuthorizationResponse: i.authorizationResponse,
		IDToken:               i.idToken,
		TokenResponse:         i.tokenResponse,
		UserinfoClaims: func(claims map[string]any) {
			if i.Faults().UserinfoSubMismatch {
				claims["sub"] = "someone-else-" + claims["sub"].(string)
			}
		},
	}
}

// intercept answers in the issuer's place for the endpoint faults.
func (i *Issuer) intercept(p devissuer.Point, _ *http.Request) *devissuer.Answer {
	f := i.Faults()
	switch p {
	case devissuer.AtDiscovery:
		a := &devissuer.Answer{Delay: f.DiscoveryDelay}
		if f.DiscoveryDown {
			a.Status, a.RetryAfter, a.Body = http.StatusServiceUnavailable, "1", "discovery is down (devissuer fault)"
		}
		return a
	case devissuer.AtJWKS:
		a := &devissuer.Answer{Delay: f.JWKSDelay}
		if f.JWKSDown {
			a.Status, a.Body = http.StatusServiceUnavailable, "the key set is down (devissuer fault)"
		}
		return a
	case devissuer.AtToken:
		return tokenAnswer(f)
	case devissuer.AtRefresh:
		return refreshAnswer(f)
	case devissuer.AtRevoke:
		return i.revokeAnswer(f)
	}
	return nil
}

// tokenAnswer applies the token endpoint faults, in the documented order.
func tokenAnswer(f Faults) *devissuer.Answer {
	a := &devissuer.Answer{Delay: f.TokenDelay}
	switch {
	case f.TokenHTML != 0:
		a.Status, a.Record, a.ContentType = f.TokenHTML, "html", "text/html; charset=utf-8"
		a.Body = "<!doctype html><html><body><h1>Something went wrong</h1><p>devissuer fault: HTML instead of JSON.</p></body></html>"
	case f.TokenStatus != 0:
		a.Status, a.Error, a.Description, a.RetryAfter = f.TokenStatus, statusErrorCode(f.TokenStatus), description, f.RetryAfter
	case f.TokenError != "":
		a.Error, a.Description = f.TokenError, description
	}
	return a
}

// refreshAnswer applies the failing refresh faults.
func refreshAnswer(f Faults) *devissuer.Answer {
	switch {
	case f.RefreshError != "":
		return &devissuer.Answer{Error: f.RefreshError, Description: description}
	case f.RefreshStatus != 0:
		return &devissuer.Answer{Status: f.RefreshStatus, Error: statusErrorCode(f.RefreshStatus), Description: description, RetryAfter: f.RefreshRetryAfter}
	case f.Refresh200WithError:
		// As GitHub and Slack do, in Slack's shape (ok: false).
		code := f.Refresh200ErrorCode
		if code == "" {
			code = "invalid_grant"
		}
		return jsonAnswer(code, map[string]any{"ok": false, "error": code, "error_description": "devissuer fault: error in a 200 answer"})
	case f.Refresh200WithoutAccessToken:
		return jsonAnswer("", map[string]any{"token_type": "Bearer", "expires_in": 3600})
	}
	return nil
}

// jsonAnswer is an HTTP 200 JSON answer; record is the error it stands for.
func jsonAnswer(record string, body map[string]any) *devissuer.Answer {
	b, _ := json.Marshal(body) // a map of strings, numbers and booleans
	return &devissuer.Answer{Status: http.StatusOK, ContentType: "application/json; charset=utf-8", Body: string(b), Record: record}
}

// revokeAnswer fails the first RevokeFailFirst revocations.
func (i *Issuer) revokeAnswer(f Faults) *devissuer.Answer {
	if f.RevokeFailFirst <= 0 {
		return nil
	}
	i.mu.Lock()
	fail := i.revokeFailed < f.RevokeFailFirst
	if fail {
		i.revokeFailed++
	}
	i.mu.Unlock()
	if !fail {
		return nil
	}
	status := f.RevokeStatus
	if status == 0 {
		status = http.StatusServiceUnavailable
	}
	code := statusErrorCode(status)
	if status == http.StatusBadRequest {
		code = "unsupported_token_type" // RFC 7009 §2.2.1: permanent
	}
	return &devissuer.Answer{Status: status, Error: code, Description: description}
}

// statusErrorCode picks the RFC 6749 error code that fits an HTTP status.
func statusErrorCode(status int) string {
	if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
		return "temporarily_unavailable"
	}
	return "server_error"
}

// clientAuthMethods narrows client authentication for RequireBasicAuth
// and RequirePostAuth.
func (i *Issuer) clientAuthMethods() []string {
	switch f := i.Faults(); {
	case f.RequireBasicAuth:
		return []string{devissuer.AuthBasic}
	case f.RequirePostAuth:
		return []string{devissuer.AuthPost}
	}
	return nil
}

// authorizationResponse applies CallbackIss.
func (i *Issuer) authorizationResponse(q url.Values) {
	switch f := i.Faults().CallbackIss; f {
	case "":
	case "omit":
		q.Del("iss")
	default:
		q.Set("iss", f)
	}
}

// tokenResponse applies the successful-refresh faults.
func (i *Issuer) tokenResponse(grantType string, resp *devissuer.TokenResponse) {
	if grantType != "refresh_token" {
		return
	}
	f := i.Faults()
	if f.RefreshOmitExpiresIn {
		resp.ExpiresIn = 0
	}
	if f.RefreshOmitRefreshToken {
		resp.RefreshToken = ""
	}
}

// idToken applies the ID token faults to the claims, and signs with
// another key for BadSignature.
func (i *Issuer) idToken(c map[string]any, sign func(map[string]any) (string, error)) (string, error) {
	f := i.Faults()
	breakClaims(c, f)
	if !f.BadSignature {
		return sign(c)
	}
	s, err := i.foreignSigner()
	if err != nil {
		return "", err
	}
	return jwt.Signed(s).Claims(c).Serialize()
}

// breakClaims changes ID token claims as the claim faults say.
func breakClaims(c map[string]any, f Faults) {
	if f.Expired {
		iat := c["iat"].(int64)
		c["iat"] = iat - int64(2*time.Hour/time.Second)
		c["exp"] = iat - int64(time.Hour/time.Second)
	}
	if f.NoProfileClaims {
		delete(c, "email")
		delete(c, "email_verified")
		delete(c, "name")
	}
	if f.WrongIssuer {
		c["iss"] = c["iss"].(string) + "/not-this-issuer"
	}
	if f.WrongAudience {
		c["aud"] = "not-" + c["aud"].(string)
	}
	if f.ExtraAudienceWithoutAzp {
		c["aud"] = []string{c["aud"].(string), "some-other-client"}
		delete(c, "azp")
	}
	if f.MissingSub {
		delete(c, "sub")
	}
	if f.MissingIat {
		delete(c, "iat")
	}
	if f.WrongNonce {
		nonce, _ := c["nonce"].(string)
		c["nonce"] = "wrong-" + nonce
	}
}

// foreignSigner signs with a second key under the issuer's kid and
// algorithm, so a verifier finds the right public key and the signature
// check fails.
func (i *Issuer) foreignSigner() (jose.Signer, error) {
	i.foreignOnce.Do(func() {
		pub := i.JWKS().Keys[0]
		alg := jose.SignatureAlgorithm(pub.Algorithm)
		var k crypto.Signer
		if alg == jose.ES256 {
			k, i.foreignErr = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		} else {
			k, i.foreignErr = rsa.GenerateKey(rand.Reader, 2048)
		}
		if i.foreignErr != nil {
			return
		}
		i.foreign, i.foreignErr = jose.NewSigner(
			jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: k, KeyID: pub.KeyID, Algorithm: string(alg)}},
			(&jose.SignerOptions{}).WithType("JWT"))
	})
	return i.foreign, i.foreignErr
}
