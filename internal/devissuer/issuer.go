// Package devissuer is a small OpenID Connect issuer (OP) served over real
// HTTP on loopback.
//
// It exists for two users. Development mode (`sessionbridge serve` without a
// configuration) runs it as provider `dev` so a newcomer can log in without
// registering an application anywhere; its short-lived access tokens make the
// refresher visible. Tests run it as a configurable fake provider that
// records what it was sent (see Stats, Requests) so a test can assert, for
// example, that no refresh token was ever presented twice; Hooks let them
// make it misbehave in precise ways (the catalogue of faults lives in the
// test-only package internal/testenv/testissuer, not in the binary).
//
// It follows the specs that matter to a relying party: RFC 6749 (code and
// refresh grants, §5.2 error answers), RFC 7636 (PKCE, S256 only), RFC 9207
// (`iss` on the callback), OpenID Connect Core and Discovery. All state is in
// memory behind one mutex, so it is safe under concurrent logins and
// refreshes. It is deliberately not a real identity provider: in form mode
// anyone can sign in as anyone, which is why Start refuses non-loopback
// addresses.
package devissuer

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// DefaultAccessTokenTTL is the access token lifetime when Options leaves it
// zero: short, so development mode shows the refresher at work.
const DefaultAccessTokenTTL = 2 * time.Minute

// DefaultIDTokenTTL is the ID token lifetime when Options leaves it zero.
const DefaultIDTokenTTL = time.Hour

// CodeTTL is how long an authorization code can be redeemed.
const CodeTTL = 60 * time.Second

// maxRecords bounds Requests() so a long-running development server does not
// grow without limit; the oldest records are dropped first.
const maxRecords = 4096

// Options configures an Issuer. ClientID and ClientSecret are required.
type Options struct {
	// ClientID and ClientSecret identify the one registered client.
	ClientID, ClientSecret string
	// RedirectURIs are the allowed redirect_uri values, compared as exact
	// strings. Empty allows any absolute http(s) URI without a fragment.
	RedirectURIs []string
	// AccessTokenTTL is the access token lifetime: 0 means
	// DefaultAccessTokenTTL; negative means expires_in is omitted from token
	// responses and access tokens never expire.
	AccessTokenTTL time.Duration
	// IDTokenTTL is the ID token lifetime; 0 means DefaultIDTokenTTL.
	IDTokenTTL time.Duration
	// RotateRefreshTokens issues a new refresh token on each refresh and
	// supersedes the presented one. Without it the refresh response carries
	// no refresh_token and the original stays valid.
	RotateRefreshTokens bool
	// DetectReuse makes presenting a superseded refresh token revoke the
	// whole family (every refresh and access token descended from the same
	// login), as OAuth 2.0 Security BCP §4.14 recommends. A superseded token
	// is always refused with invalid_grant and counted in Stats.Replays.
	DetectReuse bool
	// AdvertiseIssParameter sets authorization_response_iss_parameter_supported
	// in discovery and adds `iss` to the callback redirect (RFC 9207).
	AdvertiseIssParameter bool
	// NoPKCE makes the issuer one that does not support PKCE (Slack,
	// Yahoo): discovery advertises no code_challenge_methods_supported, and
	// an authorization request carrying code_challenge, or a token request
	// carrying code_verifier, is refused, as the strictest such provider
	// would. Without it PKCE with S256 is required.
	NoPKCE bool
	// ExtraIDTokenClaims are added to every ID token (a provider's own
	// claims, such as Slack's https://slack.com/team_id).
	ExtraIDTokenClaims map[string]any
	// Now is the clock; default time.Now.
	Now func() time.Time
	// AutoApprove, when set, makes GET /authorize approve at once as this
	// user (tests). Otherwise /authorize shows a small "who are you" form.
	AutoApprove *User
	// SigningKey is the RS256 key; generated (2048 bits) when nil. Tests
	// that create many issuers may share one to save key generation time.
	SigningKey *rsa.PrivateKey
	// ES256 signs ID tokens with a fresh P-256 key instead (SigningKey is
	// then unused): about 20 times cheaper to sign than RSA-2048, so that
	// a benchmark measures the relying parties, not the issuer.
	ES256 bool
	// Logger receives debug logs; it never sees tokens, codes or secrets.
	Logger *slog.Logger
	// Hooks alter the issuer's answers (tests only; see Hooks).
	Hooks Hooks
	// StateFile, when set, keeps the issuer's signing key, URL and grants
	// (token hashes only) across restarts: New loads it when present and
	// every token request saves it (0600). Development mode uses it so
	// that sessions survive a restart.
	StateFile string
}

// User is an identity the issuer signs in. Subject defaults to a stable hash
// of the lower-cased email, so the same email is the same user across
// restarts of a development server.
type User struct {
	Subject       string
	Email         string
	Name          string
	EmailVerified bool
}

// Issuer is the OpenID Connect provider. Create it with New; all methods are
// safe for concurrent use.
type Issuer struct {
	opts     Options
	now      func() time.Time
	log      *slog.Logger
	key      *rsa.PrivateKey
	kid      string
	signer   jose.Signer
	signKey  crypto.Signer
	pubKey   any
	alg      jose.SignatureAlgorithm
	badOnce  sync.Once
	badSign  jose.Signer
	badErr   error
	handler  http.Handler
	hooks    Hooks
	url      atomic.Pointer[string]
	saveMu   sync.Mutex // serializes saves of StateFile
	mu       sync.Mutex // guards everything below
	st       state
	stats    Stats
	records  []RequestRecord
	servers  []*http.Server
	closed   bool
	lastSwep time.Time
	// endSessions records accepted RP-initiated logouts.
	endSessions []EndSessionRequest
}

// New validates opts and creates an issuer with a fresh signing key (unless
// one is given). It does not listen; call Start, Serve or use Handler.
func New(opts Options) (*Issuer, error) {
	if opts.ClientID == "" || opts.ClientSecret == "" {
		return nil, errors.New("devissuer: ClientID and ClientSecret are required")
	}
	if opts.AutoApprove != nil && opts.AutoApprove.Email == "" && opts.AutoApprove.Subject == "" {
		return nil, errors.New("devissuer: AutoApprove needs an Email or a Subject")
	}
	for _, u := range opts.RedirectURIs {
		if err := checkRedirectURI(u); err != nil {
			return nil, fmt.Errorf("devissuer: redirect URI %q: %w", u, err)
		}
	}
	i := &Issuer{opts: opts, now: opts.Now, log: opts.Logger, key: opts.SigningKey, st: newState(), hooks: opts.Hooks}
	if i.now == nil {
		i.now = time.Now
	}
	if i.log == nil {
		i.log = slog.New(slog.DiscardHandler)
	}
	if err := i.load(); err != nil {
		return nil, err
	}
	if i.key == nil && !opts.ES256 {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("devissuer: generate key: %w", err)
		}
		i.key = k
	}
	if err := i.initSigner(); err != nil {
		return nil, err
	}
	i.handler = i.routes()
	return i, nil
}

// DevClientID is the client ID DevelopmentOptions registers.
const DevClientID = "sessionbridge-dev"

// DevelopmentOptions returns the options development mode runs with: one
// client (DevClientID, a fresh random secret) allowed to redirect only to
// redirectURIs, 2-minute access tokens so the refresher is seen at work,
// refresh token rotation with reuse detection, and RFC 9207 iss on the
// callback; users sign in through the "who are you" form.
func DevelopmentOptions(logger *slog.Logger, redirectURIs ...string) Options {
	return Options{
		ClientID:              DevClientID,
		ClientSecret:          newSecret(),
		RedirectURIs:          redirectURIs,
		AccessTokenTTL:        DefaultAccessTokenTTL,
		RotateRefreshTokens:   true,
		DetectReuse:           true,
		AdvertiseIssParameter: true,
		Logger:                logger,
	}
}

// Start listens on addr (a loopback address such as "127.0.0.1:0"), serves
// in a goroutine and returns the issuer URL "http://127.0.0.1:PORT". It
// refuses other addresses: in form mode anyone can sign in as anyone.
func (i *Issuer) Start(addr string) (string, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("devissuer: listen address %q: %w", addr, err)
	}
	if !isLoopbackHost(host) {
		return "", fmt.Errorf("devissuer: listen address %q is not loopback", addr)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("devissuer: listen: %w", err)
	}
	u := "http://" + l.Addr().String()
	i.SetIssuerURL(u)
	srv, err := i.register(l)
	if err != nil {
		return "", err
	}
	i.save() // the URL (its port is part of iss) is state too
	go func() { _ = srv.Serve(l) }()
	return u, nil
}

// Serve serves the issuer on l until Close. When no issuer URL was set it
// becomes "http://" + l.Addr(). It returns http.ErrServerClosed after Close.
func (i *Issuer) Serve(l net.Listener) error {
	if i.URL() == "" {
		i.SetIssuerURL("http://" + l.Addr().String())
	}
	srv, err := i.register(l)
	if err != nil {
		return err
	}
	return srv.Serve(l)
}

// register creates a server for l that Close will stop; it closes l and
// fails when the issuer is already closed.
func (i *Issuer) register(l net.Listener) (*http.Server, error) {
	srv := &http.Server{
		Handler:           i.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(i.log.Handler(), slog.LevelDebug),
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.closed {
		_ = l.Close()
		return nil, http.ErrServerClosed
	}
	i.servers = append(i.servers, srv)
	return srv, nil
}

// Handler returns the issuer's HTTP handler, for use with httptest.NewServer
// followed by SetIssuerURL(srv.URL).
func (i *Issuer) Handler() http.Handler { return i.handler }

// SetIssuerURL sets the issuer identifier and the base of every endpoint
// URL. A trailing slash is dropped.
func (i *Issuer) SetIssuerURL(u string) {
	u = strings.TrimRight(u, "/")
	i.url.Store(&u)
}

// URL returns the issuer URL ("" before Start, Serve or SetIssuerURL).
func (i *Issuer) URL() string {
	if p := i.url.Load(); p != nil {
		return *p
	}
	return ""
}

// Close stops every server started by Start or Serve at once. It is safe to
// call more than once.
func (i *Issuer) Close() error {
	return i.stopServers((*http.Server).Close)
}

// Shutdown stops the servers gracefully, letting in-flight requests finish
// until ctx ends.
func (i *Issuer) Shutdown(ctx context.Context) error {
	return i.stopServers(func(s *http.Server) error { return s.Shutdown(ctx) })
}

// stopServers marks the issuer closed and stops every server it runs with
// stop (at once or gracefully), joining their errors.
func (i *Issuer) stopServers(stop func(*http.Server) error) error {
	i.mu.Lock()
	i.closed = true
	srvs := i.servers
	i.servers = nil
	i.mu.Unlock()
	var errs []error
	for _, s := range srvs {
		errs = append(errs, stop(s))
	}
	return errors.Join(errs...)
}

// ClientID returns the registered client's ID.
func (i *Issuer) ClientID() string { return i.opts.ClientID }

// accessTTL returns the access token lifetime and whether it is finite.
func (i *Issuer) accessTTL() (time.Duration, bool) {
	switch {
	case i.opts.AccessTokenTTL < 0:
		return 0, false
	case i.opts.AccessTokenTTL == 0:
		return DefaultAccessTokenTTL, true
	}
	return i.opts.AccessTokenTTL, true
}

func (i *Issuer) idTokenTTL() time.Duration {
	if i.opts.IDTokenTTL > 0 {
		return i.opts.IDTokenTTL
	}
	return DefaultIDTokenTTL
}

// issuerURL is the issuer identifier for r: the configured URL, or, before
// one is set, the URL the request reached.
func (i *Issuer) issuerURL(r *http.Request) string {
	if u := i.URL(); u != "" {
		return u
	}
	return "http://" + r.Host
}

func isLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
