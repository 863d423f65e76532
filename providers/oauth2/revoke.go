package oauth2

import (
	"context"

	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/internal/revocation"
)

var _ providers.Revoker = (*Provider)(nil)

// RevocationScope implements providers.Revoker: "" without a revocation
// endpoint or with revoke_tokens: false.
func (p *Provider) RevocationScope() providers.RevocationScope {
	switch {
	case p.cfg.RevocationURL == "" || !p.cfg.RevokeTokens:
		return ""
	case p.cfg.RevokesPerToken:
		return providers.RevokesToken
	}
	return providers.RevokesGrant
}

// RevokeToken implements providers.Revoker with one RFC 7009 request,
// authenticated as the token requests are (with the token headers).
func (p *Provider) RevokeToken(ctx context.Context, req providers.RevokeRequest) error {
	if p.cfg.RevocationURL == "" {
		return &providers.OAuthError{Code: "unsupported_token_type", Description: "the provider has no revocation endpoint"}
	}
	secret := p.cfg.ClientSecret
	if s, err := p.clientSecret(); err != nil {
		return err
	} else if s != nil {
		secret = *s
	}
	u := p.endpoint(p.cfg.RevocationURL, req.GrantData)
	for _, h := range p.cfg.Hooks {
		if rh, ok := h.(RevokeHook); ok {
			return rh.Revoke(ctx, RevokeInput{Client: p.apiClient, URL: u, ClientID: p.cfg.ClientID, ClientSecret: secret,
				AccessToken: req.AccessToken, RefreshToken: req.RefreshToken, Now: p.now()})
		}
	}
	token, hint := req.RFC7009Token()
	return revocation.Send(ctx, p.tokenClient, revocation.Request{
		URL: u, ClientID: p.cfg.ClientID, ClientSecret: secret,
		Post: p.cfg.AuthStyle == "post", Token: token, Hint: hint,
	}, p.now())
}
