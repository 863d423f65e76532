// Package oidc is the generic OpenID Connect provider: discovery and ID-token
// signature checks come from go-oidc, the code exchange and refresh from
// x/oauth2, and everything those libraries leave to the caller (nonce, sub,
// iat, azp, the user-info sub, RFC 9207 iss, one token request per call,
// redacted errors) is done here.
package oidc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/internal/tokenhttp"
	"github.com/sessionbridge/sessionbridge/providers/providerconfig"
)

// Type is the provider type this package implements (Info.Type).
const Type = "oidc"

// defaultScopes are requested when the configuration lists none.
var defaultScopes = []string{"openid", "email", "profile"}

const (
	defaultRetryInterval = 2 * time.Second
	maxRetryInterval     = time.Minute
	// backgroundTimeout bounds discovery attempts and JWKS fetches, which
	// have no caller deadline: a server that accepts the connection and
	// never answers must not stall them.
	backgroundTimeout = 30 * time.Second
)

// Options carries the provider's injected dependencies. Zero values get
// defaults.
type Options struct {
	// HTTPClient is used for discovery, JWKS, token and user-info requests.
	// Default http.DefaultClient. Token requests never follow redirects
	// whatever the client says, so a token request is sent at most once.
	// Every request is bounded by the client's Timeout, or 30s when it
	// has none, and token and user-info requests also by the caller's
	// context. Answers are read up to 1 MiB.
	HTTPClient *http.Client
	// Logger receives discovery progress; it never sees tokens or codes.
	Logger *slog.Logger
	// Now is the clock for ID-token expiry checks and token expiry times.
	Now func() time.Time
	// RetryInterval is the first delay between discovery attempts; it
	// doubles up to one minute. Default 2s.
	RetryInterval time.Duration
}

// Provider is a configured OpenID Connect provider. It is safe for
// concurrent use.
type Provider struct {
	key          string
	displayName  string
	issuer       string
	clientID     string
	clientSecret string
	scopes       []string
	authStyle    oauth2.AuthStyle
	pkce         bool
	// typ is reported by Info: a preset's name, or "" for "oidc".
	typ string
	// authParams are the configured extra authorization parameters.
	authParams []oauth2.AuthCodeOption
	// refresh is false for a provider without redeemable refresh tokens.
	refresh bool
	// aliases rename the provider's error codes (see Config.ErrorAliases).
	aliases map[string]string
	// uidClaims build providerUid (see Config.UIDClaims).
	uidClaims   []string
	redirectURL string
	// rpLogout enables EndSessionURL (rp_initiated_logout); revoke and
	// revokeScope drive RevocationScope (revoke_tokens).
	rpLogout    bool
	revoke      bool
	revokeScope providers.RevocationScope

	client      *http.Client // discovery and JWKS, as configured
	tokenClient *http.Client // token endpoint: records responses, never redirects
	apiClient   *http.Client // user-info: records responses
	log         *slog.Logger
	now         func() time.Time
	retry       time.Duration

	meta    atomic.Pointer[metadata]
	readyCh chan struct{} // closed once meta is set
	firstCh chan struct{} // closed once the first discovery attempt has finished
	doneCh  chan struct{} // closed when the discovery loop stops

	mu      sync.Mutex
	lastErr error // last discovery failure, for Ready and UnavailableError
}

var (
	_ providers.Provider    = (*Provider)(nil)
	_ providers.Readiness   = (*Provider)(nil)
	_ providers.Discovering = (*Provider)(nil)
)

// New validates cfg and starts discovery in the background; it does not wait
// for it. It fails only for an invalid configuration: a provider that is
// down makes Ready report an error (and logins fail with an
// *providers.UnavailableError) while discovery is retried with backoff until
// it succeeds or ctx is cancelled. ctx is therefore the provider's lifetime,
// not a request deadline. redirectURL is the callback URL registered at the
// provider.
func New(ctx context.Context, cfg Config, redirectURL string, opts Options) (*Provider, error) {
	style, err := authStyle(cfg.AuthStyle)
	if err == nil {
		err = checkConfig(cfg, redirectURL)
	}
	if err != nil {
		return nil, fmt.Errorf("oidc provider %q: %w", cfg.Key, err)
	}

	p := &Provider{
		key:          cfg.Key,
		displayName:  cfg.DisplayName,
		typ:          cfg.Type,
		issuer:       cfg.Issuer,
		clientID:     cfg.ClientID,
		clientSecret: cfg.ClientSecret,
		scopes:       cfg.Scopes,
		authStyle:    style,
		pkce:         cfg.PKCEEnabled(),
		authParams:   loginParams(cfg.AuthParams),
		refresh:      cfg.RefreshEnabled(),
		aliases:      maps.Clone(cfg.ErrorAliases),
		uidClaims:    slices.Clone(cfg.UIDClaims),
		redirectURL:  redirectURL,
		rpLogout:     cfg.RPInitiatedLogout,
		revoke:       cfg.RevokeTokensEnabled(),
		revokeScope:  revocationScope(cfg),
		client:       opts.HTTPClient,
		log:          opts.Logger,
		now:          opts.Now,
		retry:        opts.RetryInterval,
		readyCh:      make(chan struct{}),
		firstCh:      make(chan struct{}),
		doneCh:       make(chan struct{}),
	}
	p.setDefaults()
	p.tokenClient = tokenhttp.NewClient(p.client, tokenhttp.Options{})
	p.apiClient = tokenhttp.NewClient(p.client, tokenhttp.Options{FollowRedirects: true})
	// Discovery and JWKS answers are read by go-oidc without a size limit
	// and quoted into its errors; the wrapper bounds and silences them.
	p.client = tokenhttp.NewClient(p.client, tokenhttp.Options{FollowRedirects: true, DropErrorBody: true})
	p.log = p.log.With("provider", p.key, "issuer", p.issuer)

	go p.discoverLoop(ctx)
	return p, nil
}

// setDefaults fills what the configuration and options left out.
func (p *Provider) setDefaults() {
	if len(p.scopes) == 0 {
		p.scopes = defaultScopes
	}
	if p.client == nil {
		p.client = http.DefaultClient
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.retry <= 0 {
		p.retry = defaultRetryInterval
	}
	if p.client.Timeout == 0 {
		// go-oidc fetches JWKS with a background context and makes every
		// verification wait for that one fetch, so only a client timeout
		// can keep a hung key server from blocking logins for good. The
		// token and user-info clients get it too: a caller's context
		// without a deadline must not let a provider hold a login open.
		c := *p.client
		c.Timeout = backgroundTimeout
		p.client = &c
	}
}

// loginParams turns auth_params into authorization URL options, leaving
// out the parameters the login sets itself (Check refuses them; a
// configuration built in code must not override them either).
func loginParams(params map[string]string) []oauth2.AuthCodeOption {
	var out []oauth2.AuthCodeOption
	for _, k := range slices.Sorted(maps.Keys(params)) {
		if !slices.Contains(providerconfig.ReservedParams, k) {
			out = append(out, oauth2.SetAuthURLParam(k, params[k]))
		}
	}
	return out
}

// revocationScope is what revoking one token ends at the provider: the
// whole grant unless the preset says the provider revokes per token.
func revocationScope(cfg Config) providers.RevocationScope {
	if cfg.RevokesPerToken {
		return providers.RevokesToken
	}
	return providers.RevokesGrant
}

// oauth2AuthInParams is client_secret_post, for the revocation request.
const oauth2AuthInParams = oauth2.AuthStyleInParams

// authStyle maps the configuration's auth_style. It never returns
// AuthStyleAutoDetect: that mode re-sends a failed token request with the
// credentials moved, which would send a refresh token twice.
func authStyle(s string) (oauth2.AuthStyle, error) {
	switch s {
	case "", "basic":
		return oauth2.AuthStyleInHeader, nil
	case "post":
		return oauth2.AuthStyleInParams, nil
	default:
		return 0, fmt.Errorf("auth_style %q is not basic or post", s)
	}
}

// Key returns the provider key from the configuration.
func (p *Provider) Key() string { return p.key }

// Info describes the provider; DisplayName falls back to the key.
func (p *Provider) Info() providers.Info {
	name := p.displayName
	if name == "" {
		name = p.key
	}
	typ := p.typ
	if typ == "" {
		typ = Type
	}
	return providers.Info{Key: p.key, DisplayName: name, Type: typ}
}

// Ready reports nil once discovery has succeeded, else why it has not.
func (p *Provider) Ready() error {
	if p.meta.Load() != nil {
		return nil
	}
	return p.unavailable()
}

// FirstAttempt is closed once the first discovery attempt has finished,
// whether it succeeded or not (or discovery stopped before one finished).
func (p *Provider) FirstAttempt() <-chan struct{} { return p.firstCh }

// WaitReady blocks until discovery has succeeded, ctx is done, or the
// discovery loop has stopped for good (its context was cancelled). It
// returns nil only in the first case.
func (p *Provider) WaitReady(ctx context.Context) error {
	select {
	case <-p.readyCh:
		return nil
	case <-ctx.Done():
		if p.meta.Load() != nil {
			return nil
		}
		return fmt.Errorf("%w (%w)", p.unavailable(), ctx.Err())
	case <-p.doneCh:
		if p.meta.Load() != nil {
			return nil
		}
		return p.unavailable()
	}
}

// unavailable builds the error returned while discovery has not succeeded.
func (p *Provider) unavailable() *providers.UnavailableError {
	p.mu.Lock()
	err := p.lastErr
	p.mu.Unlock()
	if err == nil {
		err = errors.New("discovery has not completed yet")
	}
	return &providers.UnavailableError{Provider: p.key, Err: err}
}

// metadataOrUnavailable returns the discovered metadata or the error that
// login and refresh calls must return before discovery succeeded.
func (p *Provider) metadataOrUnavailable() (*metadata, error) {
	if m := p.meta.Load(); m != nil {
		return m, nil
	}
	return nil, p.unavailable()
}

// AuthCodeURL returns the authorization URL for one login: the configured
// scopes plus req.Scopes (always with openid), state, nonce, and the PKCE
// S256 challenge of req.CodeVerifier unless PKCE is disabled.
func (p *Provider) AuthCodeURL(_ context.Context, req providers.AuthRequest) (string, error) {
	m, err := p.metadataOrUnavailable()
	if err != nil {
		return "", err
	}
	if req.State == "" || req.Nonce == "" {
		return "", errors.New("oidc: a login needs a state and a nonce")
	}
	if p.pkce && req.CodeVerifier == "" {
		return "", errors.New("oidc: PKCE is enabled but the login has no code verifier")
	}
	conf := p.oauth2Config(m, req.RedirectURL, p.loginScopes(req.Scopes))
	if conf.RedirectURL == "" {
		return "", errors.New("oidc: no redirect URL configured")
	}
	opts := append([]oauth2.AuthCodeOption{gooidc.Nonce(req.Nonce)}, p.authParams...)
	if p.pkce {
		opts = append(opts, oauth2.S256ChallengeOption(req.CodeVerifier))
	}
	return conf.AuthCodeURL(req.State, opts...), nil
}

// loginScopes is openid, then the configured scopes, then the login's
// extra scopes, each once and in that order.
func (p *Provider) loginScopes(extra []string) []string {
	out := []string{"openid"}
	for _, list := range [][]string{p.scopes, extra} {
		for _, s := range list {
			for _, f := range strings.Fields(s) {
				if !slices.Contains(out, f) {
					out = append(out, f)
				}
			}
		}
	}
	return out
}

// oauth2Config builds the x/oauth2 configuration for one call. The
// redirect URL of the login wins over the one given to New so that
// AuthCodeURL and Exchange, which receive the same AuthRequest, agree.
func (p *Provider) oauth2Config(m *metadata, redirectURL string, scopes []string) *oauth2.Config {
	if redirectURL == "" {
		redirectURL = p.redirectURL
	}
	ep := m.endpoint
	ep.AuthStyle = p.authStyle
	return &oauth2.Config{
		ClientID:     p.clientID,
		ClientSecret: p.clientSecret,
		Endpoint:     ep,
		RedirectURL:  redirectURL,
		Scopes:       scopes,
	}
}
