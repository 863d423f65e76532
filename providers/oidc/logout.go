package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/internal/keyset"
	"github.com/sessionbridge/sessionbridge/providers/internal/revocation"
)

// BackchannelLogoutEvent is the events member of a logout token
// (Back-Channel Logout 1.0 §2.4).
const BackchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

const (
	// logoutMaxAge is how old a logout token's iat may be: "recent"
	// (§2.6 step 4). Providers send it at once; a late retry older than
	// this is refused.
	logoutMaxAge = 10 * time.Minute
	// logoutSkew tolerates clocks slightly ahead of ours.
	logoutSkew = time.Minute
)

var (
	_ providers.BackchannelLogout = (*Provider)(nil)
	_ providers.EndSession        = (*Provider)(nil)
	_ providers.Revoker           = (*Provider)(nil)
)

// VerifyLogoutToken implements providers.BackchannelLogout: the token is
// verified like an ID token (signature by the provider's keys with an
// accepted asymmetric algorithm, never "none" nor an HMAC; iss; aud
// containing the client), then §2.6's own checks: iat present and
// recent, exp present and not passed, jti present, the events member, sub
// or sid, and no nonce.
func (p *Provider) VerifyLogoutToken(ctx context.Context, raw string) (providers.LogoutClaims, error) {
	m, err := p.metadataOrUnavailable()
	if err != nil {
		return providers.LogoutClaims{}, err
	}
	vctx, note := keyset.Watch(ctx)
	tok, err := m.logoutVerifier.Verify(vctx, raw)
	if err != nil {
		if ctx.Err() != nil {
			return providers.LogoutClaims{}, fmt.Errorf("oidc: verifying the logout token: %w", ctx.Err())
		}
		if note.Unavailable() {
			return providers.LogoutClaims{}, &providers.UnavailableError{Provider: p.key, Err: errors.New("the key set (jwks_uri) could not be fetched")}
		}
		return providers.LogoutClaims{}, p.classify(ctx, m.sigVerifier, raw, err)
	}
	var c map[string]json.RawMessage
	if err := tok.Claims(&c); err != nil {
		return providers.LogoutClaims{}, &providers.VerificationError{Check: "logout_token", Err: err}
	}
	return p.checkLogoutClaims(c)
}

// checkLogoutClaims makes the checks of §2.6 that go-oidc does not.
func (p *Provider) checkLogoutClaims(c map[string]json.RawMessage) (providers.LogoutClaims, error) {
	exp, err := p.checkLogoutTimes(c)
	if err != nil {
		return providers.LogoutClaims{}, err
	}
	out := providers.LogoutClaims{Expiry: exp}
	if !stringClaim(c["jti"], &out.JTI) || out.JTI == "" {
		return refuseLogout("jti", "the logout token has no jti")
	}
	var events map[string]json.RawMessage
	if json.Unmarshal(c["events"], &events) != nil || !isObject(events[BackchannelLogoutEvent]) {
		return refuseLogout("events", "the logout token's events claim has no back-channel logout member (a JSON object)")
	}
	if _, has := c["nonce"]; has {
		return refuseLogout("nonce", "a logout token must not carry a nonce")
	}
	_, hasSub := c["sub"]
	_, hasSid := c["sid"]
	if (hasSub && !stringClaim(c["sub"], &out.Subject)) || (hasSid && !stringClaim(c["sid"], &out.SessionID)) {
		return refuseLogout("sub", "the logout token's sub or sid is not a string")
	}
	if out.Subject == "" && out.SessionID == "" {
		return refuseLogout("sub", "the logout token has neither sub nor sid")
	}
	return out, nil
}

// checkLogoutTimes checks iat (present and recent) and exp (present and
// not passed) and returns exp.
func (p *Provider) checkLogoutTimes(c map[string]json.RawMessage) (time.Time, error) {
	now := p.now()
	iat, ok := numericDate(c["iat"])
	switch {
	case !ok:
		return time.Time{}, logoutCheck("iat", "the logout token has no iat")
	case iat.Before(now.Add(-logoutMaxAge)):
		return time.Time{}, logoutCheck("iat", "the logout token was issued too long ago")
	case iat.After(now.Add(logoutSkew)):
		return time.Time{}, logoutCheck("iat", "the logout token is issued in the future")
	}
	exp, ok := numericDate(c["exp"])
	switch {
	case !ok:
		return time.Time{}, logoutCheck("exp", "the logout token has no exp")
	case !exp.After(now):
		return time.Time{}, logoutCheck("exp", "the logout token has expired")
	}
	return exp, nil
}

func logoutCheck(check, msg string) error {
	return &providers.VerificationError{Check: check, Err: errors.New(msg)}
}

func refuseLogout(check, msg string) (providers.LogoutClaims, error) {
	return providers.LogoutClaims{}, logoutCheck(check, msg)
}

// numericDate reads a JWT NumericDate (a JSON number of seconds).
func numericDate(raw json.RawMessage) (time.Time, bool) {
	var f float64
	if len(raw) == 0 || json.Unmarshal(raw, &f) != nil || f <= 0 {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0), true
}

func stringClaim(raw json.RawMessage, dst *string) bool {
	return len(raw) > 0 && json.Unmarshal(raw, dst) == nil
}

func isObject(raw json.RawMessage) bool {
	var v map[string]any
	return len(raw) > 0 && json.Unmarshal(raw, &v) == nil && v != nil
}

// EndSessionURL implements providers.EndSession (RP-Initiated Logout 1.0
// §2): the provider's end_session_endpoint with id_token_hint (when the
// session kept one), client_id, post_logout_redirect_uri and state. It is
// "" unless the configuration enables RP-initiated logout and discovery
// found the endpoint.
func (p *Provider) EndSessionURL(idTokenHint, postLogoutRedirectURI, state string) string {
	action, params := p.EndSessionForm(idTokenHint, postLogoutRedirectURI, state)
	u, err := url.Parse(action)
	if action == "" || err != nil {
		return ""
	}
	q := u.Query()
	for k, v := range params {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// EndSessionForm implements providers.EndSession: the parameters of
// EndSessionURL for a form POST to the end_session_endpoint (RP-Initiated
// Logout 1.0 §2: the OP accepts GET and POST).
func (p *Provider) EndSessionForm(idTokenHint, postLogoutRedirectURI, state string) (string, map[string]string) {
	m := p.meta.Load()
	if !p.rpLogout || m == nil || m.endSessionURL == "" {
		return "", nil
	}
	params := map[string]string{"client_id": p.clientID}
	for k, v := range map[string]string{"id_token_hint": idTokenHint, "post_logout_redirect_uri": postLogoutRedirectURI, "state": state} {
		if v != "" {
			params[k] = v
		}
	}
	return m.endSessionURL, params
}

// RevocationScope implements providers.Revoker: a provider whose
// discovery names a revocation_endpoint can revoke unless the
// configuration says revoke_tokens: false. What one revocation ends is
// the configuration's (a preset's) word; a generic provider is assumed to
// end the whole grant, the cautious reading.
func (p *Provider) RevocationScope() providers.RevocationScope {
	m := p.meta.Load()
	if !p.revoke || m == nil || m.revocationURL == "" {
		return ""
	}
	return p.revokeScope
}

// RevokeToken implements providers.Revoker with one RFC 7009 request,
// authenticated as token requests are.
func (p *Provider) RevokeToken(ctx context.Context, req providers.RevokeRequest) error {
	token, hint := req.RFC7009Token()
	m, err := p.metadataOrUnavailable()
	if err != nil {
		return err
	}
	if m.revocationURL == "" {
		return &providers.OAuthError{Code: "unsupported_token_type", Description: "the provider has no revocation endpoint"}
	}
	return revocation.Send(ctx, p.tokenClient, revocation.Request{
		URL: m.revocationURL, ClientID: p.clientID, ClientSecret: p.clientSecret,
		Post: p.authStyle == oauth2AuthInParams, Token: token, Hint: hint,
	}, p.now())
}

// newLogoutVerifier checks a logout token's signature, iss and aud as an
// ID token's; expiry is checked by checkLogoutClaims (so a missing exp is
// named as such).
func newLogoutVerifier(issuer string, keys gooidc.KeySet, clientID string, algs []string, now func() time.Time) *gooidc.IDTokenVerifier {
	return gooidc.NewVerifier(issuer, keys, &gooidc.Config{ClientID: clientID, Now: now, SupportedSigningAlgs: algs, SkipExpiryCheck: true})
}
