package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sessionbridge/sessionbridge/providers/internal/keyset"
	"github.com/sessionbridge/sessionbridge/providers/providerconfig"
)

// metadata is what a successful discovery produced. It is immutable once
// published, so calls read it without locks.
type metadata struct {
	provider *gooidc.Provider
	// verifier does the full ID-token verification (signature, iss, aud,
	// exp) that decides whether a token is accepted.
	verifier *gooidc.IDTokenVerifier
	// sigVerifier checks only the signature. It is used after verifier
	// refused a token, to name the failed check; it never accepts a token.
	sigVerifier *gooidc.IDTokenVerifier
	// insecureClaimsVerifier checks everything but the signature (the
	// name says so, as go-oidc's InsecureSkipSignatureCheck does). It is
	// used only for a refresh answer while the key set cannot be fetched
	// (see Provider.Refresh).
	insecureClaimsVerifier *gooidc.IDTokenVerifier
	// insecureParseVerifier checks nothing; it only names the failed check
	// of a token insecureClaimsVerifier refused.
	insecureParseVerifier *gooidc.IDTokenVerifier
	// algs are the ID-token signature algorithms accepted.
	algs        []string
	endpoint    oauth2.Endpoint
	userinfoURL string
	// issParam is authorization_response_iss_parameter_supported (RFC 9207).
	issParam bool
	// logoutVerifier checks back-channel logout tokens (see
	// newLogoutVerifier).
	logoutVerifier *gooidc.IDTokenVerifier
	// endSessionURL and revocationURL are the discovered
	// end_session_endpoint and revocation_endpoint ("" when absent).
	endSessionURL string
	revocationURL string
}

// discoverLoop runs discovery until it succeeds or ctx is done, backing off
// exponentially between attempts.
func (p *Provider) discoverLoop(ctx context.Context) {
	defer close(p.doneCh)
	var first sync.Once
	defer first.Do(func() { close(p.firstCh) })
	delay := p.retry
	for attempt := 1; ; attempt++ {
		m, err := p.discover(ctx)
		// The outcome is recorded before FirstAttempt is closed, so that
		// whoever waited on it reads the outcome (Ready), not "pending".
		if err == nil {
			p.meta.Store(m)
		}
		p.mu.Lock()
		p.lastErr = err
		p.mu.Unlock()
		first.Do(func() { close(p.firstCh) })
		if err == nil {
			p.log.Info("oidc discovery succeeded", "attempt", attempt, "iss_parameter", m.issParam)
			close(p.readyCh)
			return
		}
		p.log.Warn("oidc discovery failed; retrying", "attempt", attempt, "retry_in", delay, "err", err)

		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		delay = min(delay*2, maxRetryInterval)
	}
}

// discover fetches {issuer}/.well-known/openid-configuration once. go-oidc
// refuses a document whose issuer is not exactly the configured one; this
// adds the transport policy for every endpoint the document lists.
func (p *Provider) discover(ctx context.Context) (*metadata, error) {
	ctx, cancel := context.WithTimeout(ctx, backgroundTimeout)
	defer cancel()
	prov, err := gooidc.NewProvider(gooidc.ClientContext(ctx, p.client), p.issuer)
	if err != nil {
		return nil, shorten(err)
	}
	var doc map[string]json.RawMessage
	if err := prov.Claims(&doc); err != nil {
		return nil, fmt.Errorf("oidc: discovery document: %w", err)
	}
	var extra struct {
		AuthURL     string   `json:"authorization_endpoint"`
		TokenURL    string   `json:"token_endpoint"`
		JWKSURL     string   `json:"jwks_uri"`
		UserinfoURL string   `json:"userinfo_endpoint"`
		IssParam    bool     `json:"authorization_response_iss_parameter_supported"`
		EndSession  string   `json:"end_session_endpoint"`
		Revocation  string   `json:"revocation_endpoint"`
		SigningAlgs []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := prov.Claims(&extra); err != nil {
		return nil, fmt.Errorf("oidc: discovery document: %w", err)
	}
	for name, v := range map[string]string{
		"authorization_endpoint": extra.AuthURL,
		"token_endpoint":         extra.TokenURL,
		"jwks_uri":               extra.JWKSURL,
	} {
		if v == "" {
			return nil, fmt.Errorf("oidc: discovery document has no %s", name)
		}
	}
	if err := checkDocumentEndpoints(doc); err != nil {
		return nil, err
	}

	m := &metadata{
		provider:    prov,
		endpoint:    prov.Endpoint(),
		userinfoURL: prov.UserInfoEndpoint(),
		issParam:    extra.IssParam,
		// Both are checked by checkDocumentEndpoints above.
		endSessionURL: extra.EndSession,
		revocationURL: extra.Revocation,
	}
	// One key set, fetched through a watched client, serves every
	// verifier (keysUnavailable tells an outage from a forgery).
	keys := keyset.New(p.client, extra.JWKSURL)
	algs := signingAlgs(extra.SigningAlgs)
	m.algs = algs
	if len(m.algs) == 0 {
		m.algs = []string{gooidc.RS256} // go-oidc's default
	}
	m.logoutVerifier = newLogoutVerifier(p.issuer, keys, p.clientID, algs, p.now)
	m.verifier = gooidc.NewVerifier(p.issuer, keys, &gooidc.Config{ClientID: p.clientID, Now: p.now, SupportedSigningAlgs: algs})
	m.sigVerifier = gooidc.NewVerifier(p.issuer, keys, &gooidc.Config{
		SkipClientIDCheck:    true,
		SkipExpiryCheck:      true,
		SkipIssuerCheck:      true,
		SupportedSigningAlgs: algs,
	})
	m.insecureClaimsVerifier = gooidc.NewVerifier(p.issuer, keys, &gooidc.Config{
		ClientID: p.clientID, Now: p.now, SupportedSigningAlgs: algs,
		InsecureSkipSignatureCheck: true,
	})
	m.insecureParseVerifier = gooidc.NewVerifier(p.issuer, keys, &gooidc.Config{
		SkipClientIDCheck: true, SkipExpiryCheck: true, SkipIssuerCheck: true,
		SupportedSigningAlgs: algs, InsecureSkipSignatureCheck: true,
	})
	return m, nil
}

// signingAlgs keeps the advertised ID-token algorithms go-oidc can verify
// (never "none" or an HMAC keyed with the client secret), as go-oidc's own
// Provider.Verifier does; none left means its default, RS256.
func signingAlgs(advertised []string) []string {
	var out []string
	for _, a := range advertised {
		switch a {
		case gooidc.RS256, gooidc.RS384, gooidc.RS512, gooidc.ES256, gooidc.ES384, gooidc.ES512,
			gooidc.PS256, gooidc.PS384, gooidc.PS512, gooidc.EdDSA:
			out = append(out, a)
		}
	}
	return out
}

// checkDocumentEndpoints applies checkEndpoint to jwks_uri and every
// "*_endpoint" member of the discovery document, so that a document cannot
// move any request onto plain http.
func checkDocumentEndpoints(doc map[string]json.RawMessage) error {
	names := make([]string, 0, len(doc))
	for name := range doc {
		if strings.HasSuffix(name, "_endpoint") || name == "jwks_uri" {
			names = append(names, name)
		}
	}
	sort.Strings(names) // deterministic error for a document with several problems
	for _, name := range names {
		var v string
		if err := json.Unmarshal(doc[name], &v); err != nil {
			return fmt.Errorf("oidc: discovery document: %s is not a string", name)
		}
		if v == "" {
			continue
		}
		if err := checkEndpoint(name, v); err != nil {
			return err
		}
	}
	return nil
}

// checkEndpoint accepts absolute https URLs, and http URLs only on
// loopback, where no network can see the traffic.
func checkEndpoint(name, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return fmt.Errorf("%s %q is not an absolute URL", name, raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if providerconfig.IsLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("%s %q uses plain http on a non-loopback host", name, raw)
	default:
		return fmt.Errorf("%s %q has unsupported scheme %q", name, raw, u.Scheme)
	}
}

// isLoopback reports whether host is localhost, 127.0.0.0/8 or ::1.
// shorten keeps discovery errors readable: go-oidc quotes the whole
// response body of a failed request, which for a down provider is often an
// HTML page. Typed errors are kept as they are.
func shorten(err error) error {
	var mismatch *gooidc.IssuerMismatchError
	if errors.As(err, &mismatch) {
		return err
	}
	const maxLen = 200
	msg := err.Error()
	if len(msg) <= maxLen {
		return err
	}
	return &shortError{msg: strings.ToValidUTF8(msg[:maxLen], "") + "...", err: err}
}

// shortError is an error with a truncated message that still unwraps to
// the original (for errors.Is on context errors and the like).
type shortError struct {
	msg string
	err error
}

func (e *shortError) Error() string { return e.msg }
func (e *shortError) Unwrap() error { return e.err }
