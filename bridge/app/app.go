// Package app wires the configured parts of sessionbridge together: store,
// keys, providers, service, refresher and HTTP handlers. cmd/sessionbridge
// only parses flags and calls it.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sessionbridge/sessionbridge/bridge"
	"github.com/sessionbridge/sessionbridge/bridge/config"
	"github.com/sessionbridge/sessionbridge/bridge/device"
	"github.com/sessionbridge/sessionbridge/bridge/geo"
	"github.com/sessionbridge/sessionbridge/bridge/httpapi"
	"github.com/sessionbridge/sessionbridge/bridge/janitor"
	"github.com/sessionbridge/sessionbridge/bridge/lifecycle"
	"github.com/sessionbridge/sessionbridge/bridge/refresh"
	"github.com/sessionbridge/sessionbridge/bridge/revoke"
	"github.com/sessionbridge/sessionbridge/bridge/seal"
	"github.com/sessionbridge/sessionbridge/bridge/sessioncache"
	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/bridge/store/postgres"
	"github.com/sessionbridge/sessionbridge/bridge/store/sqlite"
	"github.com/sessionbridge/sessionbridge/bridge/store/storemetrics"
	"github.com/sessionbridge/sessionbridge/internal/allowlist"
	"github.com/sessionbridge/sessionbridge/internal/version"
	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/presets"
)

// App is a wired sessionbridge process.
type App struct {
	Config    *config.Config
	Store     store.Store
	Service   *bridge.Service
	Refresher *refresh.Refresher
	// Revoker revokes provider tokens after sessions end (in the
	// background; Close waits up to 5 s for the ones in flight).
	Revoker *revoke.Revoker
	// Janitor deletes expired flows, login tokens and sessions (serve and
	// refresh both run it; the store lets one process per minute work).
	Janitor *janitor.Janitor
	// Cache is the session cache; nil when session.cache_size is 0.
	Cache    *sessioncache.Cache
	Registry *prometheus.Registry
	// Handler serves the API and pages (serve); nil for refresh-only apps.
	Handler http.Handler
	// OpsHandler serves /healthz, /readyz and /metrics (the refresh daemon).
	OpsHandler http.Handler
	// ServeOpsHandler is OpsHandler plus Go's pprof under /debug/pprof/:
	// the ops listener of serve (ops.listen).
	ServeOpsHandler http.Handler
	Logger          *slog.Logger

	closers []func() error
}

// Options tune Build.
type Options struct {
	// HTTPClient is used for every provider request; nil: a client with
	// sane timeouts.
	HTTPClient *http.Client
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// Owner identifies this process's refresh leases; "": host-pid-random.
	Owner string
	// RateLimits override the login routes' abuse limits (zero: Appwrite's).
	RateLimits httpapi.RateLimits
	// RevokeBackoff overrides the waits between revocation retries (tests).
	RevokeBackoff []time.Duration
	// OpsOnly builds no API handler (the refresh daemon serves only
	// OpsHandler), so neither its pages nor branding.* are loaded.
	OpsOnly bool
}

// Build opens the store and wires everything the configuration asks for.
// Providers whose discovery fails are retried in the background.
func Build(ctx context.Context, cfg *config.Config, log *slog.Logger, o Options) (*App, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: cfg.Refresh.Timeout}
	}
	a := &App{Config: cfg, Logger: log, Registry: prometheus.NewRegistry()}
	a.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildInfo(version.Get()))
	ok := false
	defer func() {
		if !ok {
			a.Close()
		}
	}()

	st, err := a.openStore(ctx, cfg, o)
	if err != nil {
		return nil, err
	}

	keys, err := seal.New(cfg.Secrets.TokenKeyBytes)
	if err != nil {
		return nil, err
	}
	regs, err := buildProviders(ctx, cfg, log, o)
	if err != nil {
		return nil, err
	}

	ended, err := lifecycle.New(a.Registry)
	if err != nil {
		return nil, err
	}
	a.Refresher, err = refresh.New(refresh.Options{
		Store: st, Keys: keys, Providers: regs, Owner: o.Owner,
		BeforeExpiry: cfg.Refresh.BeforeExpiry, Timeout: cfg.Refresh.Timeout,
		OnFailure: cfg.Refresh.OnFailure, Limits: refreshLimits(cfg),
		Clock: refresh.WallClock(o.Now), Logger: log.With("component", "refresher"), Registerer: a.Registry, Ended: ended,
	})
	if err != nil {
		return nil, fmt.Errorf("refresher: %w", err)
	}
	a.Janitor, err = janitor.New(janitor.Options{
		Store: st, Owner: processName(o.Owner), Ended: ended, Registerer: a.Registry,
		Logger: log.With("component", "janitor"), Now: o.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("janitor: %w", err)
	}
	a.Revoker, err = revoke.New(revoke.Options{Providers: regs, Logger: log.With("component", "revoke"), Registerer: a.Registry, Now: o.Now, Backoff: o.RevokeBackoff})
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return a.Revoker.Close(ctx)
	})
	a.Cache = a.startCache(st, cfg.Session.SessionCacheSize(), log)
	if err := a.buildService(cfg, keys, regs, ended, log, o); err != nil {
		return nil, err
	}

	metrics := promhttp.HandlerFor(a.Registry, promhttp.HandlerOpts{})
	a.OpsHandler = opsHandler(a.Service, metrics, log, false)
	a.ServeOpsHandler = opsHandler(a.Service, metrics, log, true)
	public := metrics
	if cfg.Ops.Listen != "" {
		public = nil // /metrics only on the ops listener
	}
	if a.Handler, err = buildHTTP(cfg, a.Service, public, a.Registry, log, o); err != nil {
		return nil, err
	}
	ok = true
	return a, nil
}

// openStore opens the configured store behind the timing wrapper every
// other part uses, and registers the gauges that count its live sessions.
func (a *App) openStore(ctx context.Context, cfg *config.Config, o Options) (*storemetrics.Store, error) {
	raw, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, raw.Close)
	st, err := storemetrics.Wrap(raw, a.Registry)
	if err != nil {
		return nil, err
	}
	a.Store = st
	a.Registry.MustRegister(&liveGauges{st: st, now: o.Now})
	return st, nil
}

// buildService builds the domain service on the parts Build made: the
// store, the refresher (behind the domain's port), the revoker and the
// session cache, plus its own login metrics and client detector.
func (a *App) buildService(cfg *config.Config, keys *seal.Keyring, regs providers.Registry, ended *lifecycle.Recorder, log *slog.Logger, o Options) error {
	loginMetrics, err := bridge.NewMetrics(a.Registry)
	if err != nil {
		return err
	}
	detect, err := newDetector(cfg)
	if err != nil {
		return err
	}
	a.closers = append(a.closers, detect.close)
	a.Service = bridge.New(bridge.Options{
		Cache: a.Cache, Store: a.Store, Keys: keys, Providers: regs, Refresher: refresherPort{a.Refresher},
		Detector: detect, Logger: log, Now: o.Now, Ended: ended, Revoker: a.Revoker,
		SessionDuration: cfg.Session.Duration, MaxPerUser: cfg.Session.MaxPerUser,
		RefreshWait: refreshWait(cfg),
		Metrics:     loginMetrics,
		FreshWithin: cfg.Refresh.BeforeExpiry,
	})
	return nil
}

// startCache starts the session cache's poller until Close (size 0: no
// cache). A backend that pushes changes (PostgreSQL) also wakes it.
func (a *App) startCache(st store.Store, size int, log *slog.Logger) *sessioncache.Cache {
	log = log.With("component", "session-cache")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	a.closers = append(a.closers, func() error { cancel(); <-done; return nil })
	if size <= 0 {
		// No cache here, but other processes may follow the feed: keep
		// pruning it.
		go func() { defer close(done); sessioncache.RunPruner(ctx, st, changesKept, log) }()
		return nil
	}
	listener, _ := storemetrics.Unwrap(st).(store.ChangeListener) // the backend's, not the timing wrapper's
	c := sessioncache.New(sessioncache.Options{Feed: st, Listener: listener, Size: size, Prune: changesKept, Logger: log})
	go func() { defer close(done); c.Run(ctx) }()
	return c
}

// changesKept is how long the store keeps its change feed.
const changesKept = 10 * time.Minute

// Close releases the store and other resources, in reverse order.
func (a *App) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		if err := a.closers[i](); err != nil {
			a.Logger.Warn("close", "err", err)
		}
	}
	a.closers = nil
}

// OpenStore opens the configured store backend.
func OpenStore(ctx context.Context, cfg *config.Config) (store.Store, error) {
	switch cfg.Store.Driver {
	case "sqlite", "":
		return sqlite.Open(ctx, cfg.Store.DSN)
	case "postgres":
		return postgres.Open(ctx, cfg.Store.DSN, cfg.Store.MaxConns)
	}
	return nil, fmt.Errorf("store.driver %q is not supported", cfg.Store.Driver)
}

// ProbeStore reaches the configured store the read-only way `check
// --online` needs: unlike OpenStore it creates, migrates and locks nothing,
// so a new binary can be checked against a production database. note says
// what serve would change (create the database, apply migrations), ""
// when nothing; err is what serve would fail on (unreachable, a schema
// newer than the binary).
func ProbeStore(ctx context.Context, cfg *config.Config) (note string, err error) {
	var r interface{ Note() string }
	switch cfg.Store.Driver {
	case "sqlite", "":
		r, err = sqlite.Probe(ctx, cfg.Store.DSN)
	case "postgres":
		r, err = postgres.Probe(ctx, cfg.Store.DSN)
	default:
		return "", fmt.Errorf("store.driver %q is not supported", cfg.Store.Driver)
	}
	if err != nil {
		return "", err
	}
	return r.Note(), nil
}

// processName names this process in the store's chores table.
func processName(owner string) string {
	if owner != "" {
		return owner
	}
	host, _ := os.Hostname()
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}

// refreshWait bounds how long an API call waits for an on-demand refresh.
func refreshWait(cfg *config.Config) time.Duration { return cfg.Refresh.Timeout + 5*time.Second }

// callbackURL is the redirect URI registered at a provider.
func callbackURL(cfg *config.Config, provider string) string {
	return cfg.PublicURL + "/v1/account/sessions/oauth2/callback/" + provider + "/" + cfg.Project
}

// buildHTTP builds the API and pages handler; nil for OpsOnly (the refresh
// daemon), which then loads no template, logo or allowlist.
func buildHTTP(cfg *config.Config, svc *bridge.Service, metrics http.Handler, reg prometheus.Registerer, log *slog.Logger, o Options) (http.Handler, error) {
	if o.OpsOnly {
		return nil, nil
	}
	allow, err := allowlist.New(cfg.PublicURL, cfg.RedirectAllowlist)
	if err != nil {
		return nil, fmt.Errorf("redirect_allowlist: %w", err)
	}
	brand, err := branding(cfg)
	if err != nil {
		return nil, err
	}
	links := make([]httpapi.ProviderLink, 0, len(cfg.ProviderOrder))
	for _, key := range cfg.ProviderOrder {
		p := cfg.Providers[key]
		links = append(links, httpapi.ProviderLink{Key: key, DisplayName: p.DisplayName, Type: p.Type})
	}
	reqMetrics, err := httpapi.NewRequestMetrics(reg)
	if err != nil {
		return nil, err
	}
	sameSite := map[string]http.SameSite{"strict": http.SameSiteStrictMode, "none": http.SameSiteNoneMode}[cfg.Cookies.SameSite]
	return httpapi.New(httpapi.Options{
		Service: svc, Project: cfg.Project, PublicURL: cfg.PublicURL, Allowlist: allow,
		SessionKeys: cfg.Secrets.SessionKeyBytes, APIKeys: cfg.APIKeys,
		ExposeRefreshToken: cfg.Session.ExposeRefreshToken, SameSite: sameSite,
		CookieDomain: cfg.Cookies.Domain, Dev: cfg.Dev, Providers: links,
		Branding: brand, Metrics: metrics, RateLimits: rateLimits(cfg.RateLimits, o.RateLimits), ProviderWait: 2*cfg.Refresh.Timeout + 5*time.Second, TrustedProxies: cfg.TrustedProxyPrefixes(), TrustLoopback: cfg.Dev, Logger: log, Now: o.Now,
		RequestMetrics: reqMetrics, AccessLog: cfg.Log.AccessEnabled(),
	})
}

// opsHandler serves liveness, readiness and metrics (the refresh daemon's
// three routes); with pprof also Go's profiler, for serve's ops listener
// only (never on a public port: profiles reveal memory contents).
func opsHandler(svc *bridge.Service, metrics http.Handler, log *slog.Logger, withPprof bool) http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	m.Handle("GET /readyz", httpapi.Readyz(svc, log))
	m.Handle("GET /metrics", metrics)
	if withPprof {
		m.HandleFunc("/debug/pprof/", pprof.Index)
		m.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		m.HandleFunc("/debug/pprof/profile", pprof.Profile)
		m.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		m.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return m
}

// detector fills the device and country fields of new sessions.
type detector struct {
	ua  *device.Parser
	geo *geo.Locator
}

func newDetector(cfg *config.Config) (*detector, error) {
	ua, err := device.New()
	if err != nil {
		return nil, fmt.Errorf("user-agent parser: %w", err)
	}
	loc := geo.Disabled()
	if cfg.GeoIP.Database != "" {
		if loc, err = geo.Open(cfg.GeoIP.Database); err != nil {
			return nil, fmt.Errorf("geoip.database: %w", err)
		}
	}
	return &detector{ua: ua, geo: loc}, nil
}

// Detect is bridge.ClientDetector.
func (d *detector) Detect(m bridge.ClientMeta) store.Client {
	i := d.ua.Parse(m.UserAgent)
	c := store.Client{
		IP: m.IP, OSCode: i.OSCode, OSName: i.OSName, OSVersion: i.OSVersion,
		ClientType: i.ClientType, ClientCode: i.ClientCode, ClientName: i.ClientName,
		ClientVersion: i.ClientVersion, ClientEngine: i.ClientEngine, ClientEngineVersion: i.ClientEngineVersion,
		DeviceName: i.DeviceName, DeviceBrand: i.DeviceBrand, DeviceModel: i.DeviceModel,
	}
	c.CountryCode, c.CountryName = d.geo.Country(m.IP)
	return c
}

func (d *detector) close() error { return d.geo.Close() }

// rateLimits turns the rate_limits section into the HTTP layer's budgets;
// limits set in Options (tests) win over the configuration.
func rateLimits(c config.RateLimits, override httpapi.RateLimits) httpapi.RateLimits {
	if override != (httpapi.RateLimits{}) {
		return override
	}
	login, token := httpapi.RateLimit{Limit: c.Login, Window: c.Window}, httpapi.RateLimit{Limit: c.Token, Window: c.Window}
	jwt := httpapi.RateLimit{Limit: c.JWT, Window: time.Hour}
	if !c.LimitsEnabled() {
		login.Limit, token.Limit, jwt.Limit = -1, -1, -1
	}
	return httpapi.RateLimits{SessionStart: login, TokenStart: login, Callback: login, Token: token, JWT: jwt}
}

// refreshLimits is the refresh section's limits with the providers' own.
func refreshLimits(cfg *config.Config) refresh.Limits {
	return refresh.Limits{
		Concurrency: cfg.Refresh.Concurrency, ProviderConcurrency: cfg.Refresh.ProviderConcurrency,
		ProviderRate: cfg.Refresh.ProviderRate, ProviderBurst: cfg.Refresh.ProviderBurst,
		PerProvider: providerLimits(cfg),
	}
}

// providerLimits collects the providers' own refresh limits.
func providerLimits(cfg *config.Config) map[string]refresh.ProviderLimit {
	out := map[string]refresh.ProviderLimit{}
	for key, p := range cfg.Providers {
		l := refresh.ProviderLimit{Concurrency: p.RefreshConcurrency, Rate: p.RefreshRate, Burst: p.RefreshBurst,
			MinInterval: minRefreshInterval(p)}
		if l != (refresh.ProviderLimit{}) {
			out[key] = l
		}
	}
	return out
}

// minRefreshInterval is the provider's min_refresh_interval, or else its
// preset's default.
func minRefreshInterval(p config.Provider) time.Duration {
	if p.MinRefreshInterval != nil {
		return *p.MinRefreshInterval
	}
	if pre, ok := presets.Lookup(p.Type); ok {
		return pre.MinRefreshInterval
	}
	return 0
}
