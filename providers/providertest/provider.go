package providertest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/sessionbridge/sessionbridge/providers"
)

// Provider is an in-process fake providers.Provider for tests of the
// code that uses providers (the domain service), where Fake's real HTTP
// would only add noise. It keeps a provider's promises: a code is issued
// only for a login started with AuthCodeURL, is single use and redeems
// only with that login's nonce and PKCE verifier; a refresh token is
// single use (rotation). It also has every optional capability
// (back-channel logout, RP-initiated logout, revocation, discovery);
// embed it in a struct to hide them.
//
// Set the fields before use; the methods are safe for concurrent use.
type Provider struct {
	Name string
	// TokenTTL is the access tokens' lifetime; 0: tokens carry no expiry.
	TokenTTL time.Duration
	// NoRefreshToken makes logins and refreshes issue no refresh token.
	NoRefreshToken bool
	// SessionID is the provider session (sid) of every login.
	SessionID string
	// GrantData is handed back with every login.
	GrantData string
	// Now is the provider's clock (token expiries); nil: time.Now.
	Now func() time.Time

	// AuthErr, ExchangeErr and RefreshErr, when set, are the answers of
	// AuthCodeURL, Exchange and Refresh (a provider that is down or
	// refuses).
	AuthErr, ExchangeErr, RefreshErr error
	// VerifyLogout checks a back-channel logout token; nil refuses every
	// token (a failed signature check).
	VerifyLogout func(raw string) (providers.LogoutClaims, error)
	// EndSessionEndpoint enables RP-initiated logout; "" disables it.
	EndSessionEndpoint string
	// Scope is what a revocation ends; "": the provider cannot revoke.
	Scope providers.RevocationScope
	// Discovered, when set, is FirstAttempt: the test closes it when the
	// first discovery attempt should count as finished.
	Discovered chan struct{}
	// ReadyErr is Ready's answer (a discovery that keeps failing).
	ReadyErr error

	mu      sync.Mutex
	seq     int
	logins  map[string]providers.AuthRequest // state -> request, for Approve
	codes   map[string]approval
	refresh map[string]string // live refresh token -> subject
	auths   []providers.AuthRequest
	revoked []providers.RevokeRequest
	renewed int
}

type approval struct {
	req providers.AuthRequest
	id  providers.Identity
}

var (
	_ providers.Provider          = (*Provider)(nil)
	_ providers.BackchannelLogout = (*Provider)(nil)
	_ providers.EndSession        = (*Provider)(nil)
	_ providers.Revoker           = (*Provider)(nil)
	_ providers.Discovering       = (*Provider)(nil)
	_ providers.Readiness         = (*Provider)(nil)
)

// Key is the provider key.
func (p *Provider) Key() string { return p.Name }

func (p *Provider) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// AuthCodeURL records the login and returns an authorization URL at a
// fictitious host that carries its state.
func (p *Provider) AuthCodeURL(_ context.Context, req providers.AuthRequest) (string, error) {
	if p.AuthErr != nil {
		return "", p.AuthErr
	}
	if req.State == "" || req.Nonce == "" || req.CodeVerifier == "" {
		return "", errors.New("providertest: a login needs a state, a nonce and a code verifier")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.logins == nil {
		p.logins = map[string]providers.AuthRequest{}
	}
	p.logins[req.State] = req
	p.auths = append(p.auths, req)
	return "https://" + p.Name + ".idp.test/authorize?" + url.Values{"state": {req.State}}.Encode(), nil
}

// AuthRequests returns the requests AuthCodeURL received, in order.
func (p *Provider) AuthRequests() []providers.AuthRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]providers.AuthRequest(nil), p.auths...)
}

// Approve plays the user consenting as id to the login started with
// state, and returns the code the provider sends to the callback; "" when
// no login has that state.
func (p *Provider) Approve(state string, id providers.Identity) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	req, ok := p.logins[state]
	if !ok {
		return ""
	}
	delete(p.logins, state)
	p.seq++
	code := fmt.Sprintf("code-%s-%d", p.Name, p.seq)
	if p.codes == nil {
		p.codes = map[string]approval{}
	}
	p.codes[code] = approval{req: req, id: id}
	return code
}

// Exchange redeems an approved code once, with the nonce and verifier of
// the login it was issued for.
func (p *Provider) Exchange(_ context.Context, cb providers.Callback, req providers.AuthRequest) (*providers.Login, error) {
	if p.ExchangeErr != nil {
		return nil, p.ExchangeErr
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	a, ok := p.codes[cb.Code]
	delete(p.codes, cb.Code)
	switch {
	case !ok:
		return nil, &providers.OAuthError{Code: "invalid_grant", Description: "unknown or used code", HTTPStatus: 400}
	case req.CodeVerifier != a.req.CodeVerifier:
		return nil, &providers.OAuthError{Code: "invalid_grant", Description: "PKCE verification failed", HTTPStatus: 400}
	case req.Nonce != a.req.Nonce:
		return nil, &providers.VerificationError{Check: "nonce"}
	}
	return &providers.Login{Token: p.issue(a.id.Subject), Identity: a.id, SessionID: p.SessionID, GrantData: p.GrantData}, nil
}

// issue makes a new token set for subject; p.mu is held.
func (p *Provider) issue(subject string) providers.Token {
	p.seq++
	t := providers.Token{
		AccessToken: fmt.Sprintf("at-%s-%d", p.Name, p.seq),
		IDToken:     fmt.Sprintf("idt-%s-%d", p.Name, p.seq),
	}
	if p.TokenTTL > 0 {
		t.Expiry = p.now().Add(p.TokenTTL)
	}
	if !p.NoRefreshToken {
		t.RefreshToken = fmt.Sprintf("rt-%s-%d", p.Name, p.seq)
		if p.refresh == nil {
			p.refresh = map[string]string{}
		}
		p.refresh[t.RefreshToken] = subject
	}
	return t
}

// Refresh redeems a live refresh token once and issues a new token set.
func (p *Provider) Refresh(_ context.Context, req providers.RefreshRequest) (*providers.Token, error) {
	if p.RefreshErr != nil {
		return nil, p.RefreshErr
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	subject, ok := p.refresh[req.RefreshToken]
	if !ok {
		return nil, &providers.OAuthError{Code: "invalid_grant", Description: "unknown or used refresh token", HTTPStatus: 400}
	}
	delete(p.refresh, req.RefreshToken)
	p.renewed++
	t := p.issue(subject)
	return &t, nil
}

// Refreshes counts the refresh requests that succeeded.
func (p *Provider) Refreshes() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.renewed
}

// VerifyLogoutToken is VerifyLogout, or a failed signature check.
func (p *Provider) VerifyLogoutToken(_ context.Context, raw string) (providers.LogoutClaims, error) {
	if p.VerifyLogout == nil {
		return providers.LogoutClaims{}, &providers.VerificationError{Check: "signature"}
	}
	return p.VerifyLogout(raw)
}

// EndSessionURL is the end-session endpoint with the request in its
// query, or "" when RP-initiated logout is disabled.
func (p *Provider) EndSessionURL(idTokenHint, postLogoutRedirectURI, state string) string {
	action, params := p.EndSessionForm(idTokenHint, postLogoutRedirectURI, state)
	if action == "" {
		return ""
	}
	q := url.Values{}
	for k, v := range params {
		q.Set(k, v)
	}
	return action + "?" + q.Encode()
}

// EndSessionForm is the end-session request as a form post.
func (p *Provider) EndSessionForm(idTokenHint, postLogoutRedirectURI, state string) (string, map[string]string) {
	if p.EndSessionEndpoint == "" {
		return "", nil
	}
	params := map[string]string{"state": state}
	if idTokenHint != "" {
		params["id_token_hint"] = idTokenHint
	}
	if postLogoutRedirectURI != "" {
		params["post_logout_redirect_uri"] = postLogoutRedirectURI
	}
	return p.EndSessionEndpoint, params
}

// RevocationScope is Scope.
func (p *Provider) RevocationScope() providers.RevocationScope { return p.Scope }

// RevokeToken records the request; the token's refresh token stops working.
func (p *Provider) RevokeToken(_ context.Context, req providers.RevokeRequest) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.revoked = append(p.revoked, req)
	delete(p.refresh, req.RefreshToken)
	return nil
}

// Revoked returns the revocation requests received, in order.
func (p *Provider) Revoked() []providers.RevokeRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]providers.RevokeRequest(nil), p.revoked...)
}

// FirstAttempt is Discovered, or a closed channel (discovery finished).
func (p *Provider) FirstAttempt() <-chan struct{} {
	if p.Discovered != nil {
		return p.Discovered
	}
	done := make(chan struct{})
	close(done)
	return done
}

// Ready is ReadyErr.
func (p *Provider) Ready() error { return p.ReadyErr }
