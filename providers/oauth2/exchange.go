package oauth2

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/internal/tokenhttp"
)

// Exchange redeems the callback's code with one token request (with the
// PKCE verifier), reads the identity through the claims mapping and the
// hooks, and returns tokens and identity.
func (p *Provider) Exchange(ctx context.Context, cb providers.Callback, req providers.AuthRequest) (*providers.Login, error) {
	if cb.Code == "" {
		return nil, &providers.VerificationError{Check: "code", Err: errors.New("the callback carries no authorization code")}
	}
	if p.cfg.PKCE && req.CodeVerifier == "" {
		return nil, errors.New("oauth2: PKCE is enabled but the login has no code verifier")
	}
	grant, err := p.grantData(cb)
	if err != nil {
		return nil, err
	}
	secret, err := p.clientSecret()
	if err != nil {
		return nil, err
	}
	conf := p.oauth2Config(req.RedirectURL, secret, p.endpoint(p.cfg.TokenURL, grant))
	var opts []oauth2.AuthCodeOption
	if p.cfg.PKCE {
		opts = append(opts, oauth2.VerifierOption(req.CodeVerifier))
	}
	rec := &tokenhttp.Record{}
	tok, err := conf.Exchange(tokenhttp.WithRecord(ctx, p.tokenClient, rec), cb.Code, opts...)
	if err != nil {
		return nil, p.tokenError(err, rec, cb.Code, req.CodeVerifier)
	}
	tokenDoc, formDoc := decodeTokenBody(rec)

	api := &API{client: p.apiClient, accessToken: tok.AccessToken, clientID: p.cfg.ClientID, clientSecret: p.cfg.ClientSecret, headers: p.cfg.UserinfoHeaders,
		secrets: []string{tok.AccessToken, p.cfg.ClientSecret}}
	userinfoURL := p.endpoint(p.cfg.UserinfoURL, grant)
	userinfo, err := p.fetchUserinfo(ctx, api, userinfoURL)
	if err != nil {
		return nil, err
	}
	in := IdentityInput{Token: tokenDoc, FormToken: formDoc, Userinfo: userinfo, UserinfoURL: userinfoURL,
		Callback: cb, Request: req, ClientID: p.cfg.ClientID, API: api, Now: p.now()}
	ident, err := p.identity(ctx, in)
	if err != nil {
		return nil, err
	}
	t := p.token(tok, p.loginScopes(req.Scopes))
	return &providers.Login{Token: t, Identity: ident, GrantData: grant}, nil
}

// identity reads the user through the claims mapping (from the user-info
// answer, or the token answer without a user-info endpoint) and the
// identity hooks.
func (p *Provider) identity(ctx context.Context, in IdentityInput) (providers.Identity, error) {
	var tokenAny any = in.Token
	if in.Token == nil && in.FormToken != nil {
		m := make(map[string]any, len(in.FormToken))
		for k := range in.FormToken {
			m[k] = in.FormToken.Get(k)
		}
		tokenAny = m
	}
	doc := in.Userinfo
	if p.cfg.UserinfoURL == "" {
		doc = tokenAny
	}
	c := p.cfg.Claims
	ident := providers.Identity{
		Subject: Extract(doc, tokenAny, c.UID),
		Email:   Extract(doc, tokenAny, c.Email),
		Name:    Extract(doc, tokenAny, c.Name),
	}
	if c.EmailVerified != "" {
		ident.EmailVerified = ParseBool(Extract(doc, tokenAny, c.EmailVerified))
	}
	for _, h := range p.cfg.Hooks {
		if ih, ok := h.(IdentityHook); ok {
			if err := ih.CompleteIdentity(ctx, in, &ident); err != nil {
				return ident, asVerification("identity", err)
			}
		}
	}
	if ident.Subject == "" {
		return ident, &providers.VerificationError{Check: "uid", Err: fmt.Errorf("the provider's answer has no value at claims.uid %q", c.UID)}
	}
	if ident.Email == "" {
		ident.EmailVerified = false
	}
	return ident, nil
}

// fetchUserinfo calls the user-info endpoint (nil without one).
func (p *Provider) fetchUserinfo(ctx context.Context, api *API, u string) (any, error) {
	if u == "" {
		return nil, nil
	}
	method := strings.ToUpper(p.cfg.UserinfoMethod)
	if method == "" {
		method = http.MethodGet
	}
	doc, err := api.Do(ctx, method, u, nil)
	if err != nil {
		return nil, asVerification("userinfo", err)
	}
	return doc, nil
}

// grantData asks the GrantHook, if any, what the grant's later requests
// need; its refusal is a verification error (no token request is sent).
func (p *Provider) grantData(cb providers.Callback) (string, error) {
	for _, h := range p.cfg.Hooks {
		if gh, ok := h.(GrantHook); ok {
			gd, err := gh.GrantData(cb)
			if err != nil {
				return "", &providers.VerificationError{Check: "grant", Err: err}
			}
			return gd, nil
		}
	}
	return "", nil
}

// endpoint maps a configured endpoint for a grant through the GrantHook.
func (p *Provider) endpoint(configured, grantData string) string {
	if configured == "" || grantData == "" {
		return configured
	}
	for _, h := range p.cfg.Hooks {
		if gh, ok := h.(GrantHook); ok {
			return gh.Endpoint(configured, grantData)
		}
	}
	return configured
}

// Refresh sends one refresh_token grant, or none at all when the provider
// does not support refresh (a permanent unsupported_grant_type error).
// When the answer has no new refresh token, the one sent is kept.
func (p *Provider) Refresh(ctx context.Context, req providers.RefreshRequest) (*providers.Token, error) {
	if !p.cfg.Refresh {
		return nil, &providers.OAuthError{Code: "unsupported_grant_type", Description: fmt.Sprintf("provider %q does not support refreshing tokens", p.cfg.Key)}
	}
	if req.RefreshToken == "" {
		return nil, tokenhttp.NoRefreshToken()
	}
	secret, err := p.clientSecret()
	if err != nil {
		return nil, err
	}
	tokenURL := p.cfg.TokenURL
	if p.cfg.RefreshURL != "" {
		tokenURL = p.cfg.RefreshURL
	}
	conf := p.oauth2Config("", secret, p.endpoint(tokenURL, req.GrantData))
	rec := &tokenhttp.Record{}
	tok, err := tokenhttp.Refresh(tokenhttp.WithRecord(ctx, p.tokenClient, rec), conf, req.RefreshToken)
	if err != nil {
		return nil, p.tokenError(err, rec, req.RefreshToken)
	}
	if err := p.checkRefresh(ctx, tok, rec, req.Subject); err != nil {
		return nil, err
	}
	t := p.token(tok, nil)
	return &t, nil
}

// checkRefresh runs the RefreshHook hooks on a successful refresh answer.
// Their errors become permanent VerificationErrors, except those the
// RefreshHook documentation names transient.
func (p *Provider) checkRefresh(ctx context.Context, tok *oauth2.Token, rec *tokenhttp.Record, subject string) error {
	var in *RefreshInput
	for _, h := range p.cfg.Hooks {
		rh, ok := h.(RefreshHook)
		if !ok {
			continue
		}
		if in == nil {
			tokenDoc, _ := decodeTokenBody(rec)
			idToken, _ := tok.Extra("id_token").(string)
			in = &RefreshInput{IDToken: idToken, Token: tokenDoc, Subject: subject, ClientID: p.cfg.ClientID, Now: p.now()}
		}
		err := rh.CheckRefresh(ctx, *in)
		if err == nil {
			continue
		}
		if _, ok := errors.AsType[*providers.VerificationError](err); ok {
			return err
		}
		if _, ok := errors.AsType[*providers.UnavailableError](err); ok || ctx.Err() != nil {
			return err
		}
		return &providers.VerificationError{Check: "refresh", Err: err}
	}
	return nil
}

// clientSecret returns the hook's secret when a ClientSecretHook exists
// (nil otherwise: the configured one is used).
func (p *Provider) clientSecret() (*string, error) {
	for _, h := range p.cfg.Hooks {
		if cs, ok := h.(ClientSecretHook); ok {
			s, err := cs.ClientSecret(p.now())
			if err != nil {
				return nil, &providers.OAuthError{Code: "invalid_client", Description: "cannot build the client secret", Err: err}
			}
			return &s, nil
		}
	}
	return nil, nil
}

// decodeTokenBody decodes the recorded token answer: JSON with exact
// numbers, or a form-encoded body.
func decodeTokenBody(rec *tokenhttp.Record) (map[string]any, url.Values) {
	mt, _, _ := mime.ParseMediaType(rec.ContentType)
	if mt == "application/x-www-form-urlencoded" || mt == "text/plain" {
		if v, err := url.ParseQuery(string(rec.Body)); err == nil {
			return nil, v
		}
		return nil, nil
	}
	if doc, err := DecodeJSON(rec.Body); err == nil {
		if m, ok := doc.(map[string]any); ok {
			return m, nil
		}
	}
	return nil, nil
}

// token converts an x/oauth2 token. Expiry comes from expires_in with the
// injected clock and stays zero when the provider sent none. Scopes are the
// granted ones when the answer lists them, else the requested ones.
func (p *Provider) token(tok *oauth2.Token, requested []string) providers.Token {
	t := providers.Token{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Scopes: requested}
	if id, ok := tok.Extra("id_token").(string); ok {
		t.IDToken = id
	}
	if secs := tokenhttp.ExpiresIn(tok); secs > 0 {
		t.Expiry = p.now().Add(time.Duration(secs) * time.Second)
	}
	if s, ok := tok.Extra("scope").(string); ok && strings.TrimSpace(s) != "" {
		t.Scopes = strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' })
	}
	return t
}
