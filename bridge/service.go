// Package bridge is the domain of sessionbridge: logins become users and
// sessions, sessions are authenticated and listed, and provider grants are
// handed to the refresher. It knows nothing of HTTP or SQL: requests come
// from bridge/httpapi, persistence goes through bridge/store.
package bridge

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"sort"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/lifecycle"
	"github.com/sessionbridge/sessionbridge/bridge/seal"
	"github.com/sessionbridge/sessionbridge/bridge/sessioncache"
	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/providers"
)

// Refresher renews provider tokens: the domain's port to the refresher
// (bridge/app adapts bridge/refresh to it).
type Refresher interface {
	// Notify tells the refresher that a grant is due at the given time.
	Notify(at time.Time)
	// RefreshNow refreshes one session's grant now (single-flight) and
	// returns the session as stored afterwards. A session that the
	// refresh ended (the provider rejected its grant) or that is gone is
	// store.ErrNotFound; the other permanent outcomes are
	// ErrGrantRevoked and ErrRefreshNotConfigured; any other error is
	// temporary.
	RefreshNow(ctx context.Context, sessionID string) (store.Session, error)
	// ScheduleFor is when a new grant of provider, issued at issued with
	// an access token expiring at expiry, should be refreshed; zero means
	// never.
	ScheduleFor(provider string, issued, expiry time.Time) time.Time
}

// Errors of Refresher.RefreshNow that the domain answers differently
// from a temporary failure.
var (
	// ErrGrantRevoked: the provider rejected the grant for good and the
	// session was kept without its provider tokens.
	ErrGrantRevoked = errors.New("the grant was rejected; the session's provider tokens were cleared")
	// ErrRefreshNotConfigured: the configuration cannot refresh the grant
	// (its provider is gone, or its refresh token was sealed with a token
	// key that is gone); retrying changes nothing until it does.
	ErrRefreshNotConfigured = errors.New("the configuration cannot refresh this grant")
)

// ClientDetector describes the client behind a request for a new
// session: device, client and country fields (bridge/app combines the
// user-agent parser and the GeoIP database).
type ClientDetector interface {
	Detect(ClientMeta) store.Client
}

// Options configures a Service. Store, Keys and Providers are required.
type Options struct {
	Store     store.Store
	Keys      *seal.Keyring
	Providers providers.Registry
	// Refresher renews grants; nil: no refresh, and no proactive
	// schedule for new grants (tests).
	Refresher Refresher
	// Detector fills a new session's device, client and country fields;
	// nil: they stay empty (country "--", "Unknown").
	Detector ClientDetector
	Logger   *slog.Logger
	Now      func() time.Time
	// Ended counts ended sessions by reason; nil counts nothing.
	Ended *lifecycle.Recorder
	// Revoker revokes provider tokens after sign-out, revoke and
	// back-channel logout; nil revokes nothing.
	Revoker TokenRevoker
	// Cache, when set, answers Authenticate for recently seen sessions
	// (its Run must be running).
	Cache *sessioncache.Cache

	// SessionDuration is the absolute lifetime of a session.
	SessionDuration time.Duration
	// MaxPerUser caps sessions per user; the oldest are removed first.
	MaxPerUser int
	// FlowTTL bounds how long a login may take (state lifetime); <= 10m.
	FlowTTL time.Duration
	// TokenTTL is the lifetime of a token-flow secret (60s).
	TokenTTL time.Duration
	// RefreshWait bounds how long an API call waits for an on-demand
	// refresh (PATCH, or a read that finds an expired token), for
	// instance while another process that died holds the grant's lease.
	// The refresh itself goes on, detached, bounded by its own timeout.
	RefreshWait time.Duration
	// DiscoveryWait bounds how long a login waits for its provider's first
	// discovery attempt (default DefaultDiscoveryWait).
	DiscoveryWait time.Duration
	// PendingBound is how long after start a pending first discovery
	// makes the process not ready (default DefaultPendingBound).
	PendingBound time.Duration
	// Metrics counts logins and created sessions; nil counts nothing.
	Metrics *Metrics
	// FreshWithin is refresh.before_expiry: an identity read with fresh
	// set renews a grant whose access token expires within it.
	FreshWithin time.Duration
}

// Service is the bridge's domain API. It is safe for concurrent use.
type Service struct {
	o       Options
	started time.Time
	touched touches
}

// New returns a Service with defaults filled in.
func New(o Options) *Service {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SessionDuration <= 0 {
		o.SessionDuration = 365 * 24 * time.Hour
	}
	if o.MaxPerUser <= 0 {
		o.MaxPerUser = 10
	}
	if o.FlowTTL <= 0 || o.FlowTTL > 10*time.Minute {
		o.FlowTTL = 10 * time.Minute
	}
	if o.RefreshWait <= 0 {
		o.RefreshWait = 35 * time.Second
	}
	if o.TokenTTL <= 0 {
		o.TokenTTL = 60 * time.Second
	}
	if o.DiscoveryWait <= 0 {
		o.DiscoveryWait = DefaultDiscoveryWait
	}
	if o.PendingBound <= 0 {
		o.PendingBound = DefaultPendingBound
	}
	return &Service{o: o, started: o.Now().UTC()}
}

// providerKeys are the configured provider keys, sorted.
func (s *Service) providerKeys() []string {
	keys := make([]string, 0, len(s.o.Providers))
	for k := range s.o.Providers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (s *Service) now() time.Time { return s.o.Now().UTC() }

// randomString returns n random bytes, base64url-encoded without padding.
func randomString(n int) string {
	b := make([]byte, n)
	// crypto/rand.Read never fails (since Go 1.24 it aborts the program if
	// the kernel cannot supply entropy), so there is no error to handle.
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashSecret is how secrets are kept at rest: only their SHA-256.
func hashSecret(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// flowID is the store key of a pending login: the hash of its state or
// bind handle, so a database reader cannot replay a login.
func flowID(handle string) string {
	sum := sha256.Sum256([]byte(handle))
	return hex.EncodeToString(sum[:])
}

// ParkedProviders returns the providers whose refreshes are parked because
// they refused the bridge's client or configuration, each with the error
// code; empty when none (readiness detail).
func (s *Service) ParkedProviders() map[string]string {
	if p, ok := s.o.Refresher.(ParkingRefresher); ok {
		return p.Parked()
	}
	return nil
}

// ParkingRefresher is a Refresher that parks a provider's refreshes while
// the provider refuses the bridge's client; readiness reports them.
type ParkingRefresher interface {
	Refresher
	// Parked maps each parked provider to the error code that parked it.
	Parked() map[string]string
}
