package config

import (
	"net"
	"slices"
	"sort"
	"time"
)

// Defaults of contract §4 and the extra keys.
const (
	DefaultListen        = "127.0.0.1:8080"
	DefaultProject       = "default"
	DefaultSessionLength = 8760 * time.Hour
	DefaultMaxPerUser    = 10
	// DefaultCacheSize: about 20 MB of cached sessions at most.
	DefaultCacheSize      = 20000
	DefaultSameSite       = "lax"
	DefaultStoreDriver    = "sqlite"
	DefaultSQLiteDSN      = "./sessionbridge-data/sessionbridge.db"
	DefaultBeforeExpiry   = 5 * time.Minute
	DefaultRefreshListen  = "127.0.0.1:9090"
	DefaultOnFailure      = "end_session"
	DefaultRefreshTimeout = 30 * time.Second
	DefaultConcurrency    = 64
	DefaultLogLevel       = "info"
	DefaultLogFormat      = "text"
	// Rate limits: generous enough for a backend driving many logins from
	// one address, tight enough to stop a loop hammering the login routes.
	DefaultRateWindow = 10 * time.Minute
	DefaultLoginRate  = 300
	DefaultTokenRate  = 60
	DefaultJWTRate    = 100 // per user and hour, as Appwrite
	// DevBeforeExpiry is the refresh margin in development mode, where the
	// dev issuer's access tokens live two minutes.
	DevBeforeExpiry = 60 * time.Second
)

// ApplyDefaults fills every unset (zero) setting with its default. It is
// idempotent and is called by Parse; call it on a configuration built in
// code before Validate. It leaves secrets and providers' required keys
// alone: those have no defaults.
func (c *Config) ApplyDefaults() {
	setDefault(&c.Listen, DefaultListen)
	setDefault(&c.PublicURL, "http://"+reachable(c.Listen))
	setDefault(&c.Project, DefaultProject)
	setDefault(&c.Session.Duration, DefaultSessionLength)
	setDefault(&c.Session.MaxPerUser, DefaultMaxPerUser)
	setDefault(&c.Cookies.SameSite, DefaultSameSite)
	setDefault(&c.Store.Driver, DefaultStoreDriver)
	if c.Store.Driver == "sqlite" {
		// Only SQLite has a sensible default location; a PostgreSQL DSN
		// must be given.
		setDefault(&c.Store.DSN, DefaultSQLiteDSN)
	}
	setDefault(&c.Refresh.BeforeExpiry, DefaultBeforeExpiry)
	setDefault(&c.Refresh.Listen, DefaultRefreshListen)
	setDefault(&c.Refresh.OnFailure, DefaultOnFailure)
	setDefault(&c.Refresh.Timeout, DefaultRefreshTimeout)
	setDefault(&c.Refresh.Concurrency, DefaultConcurrency)
	setDefault(&c.Log.Level, DefaultLogLevel)
	setDefault(&c.RateLimits.Window, DefaultRateWindow)
	setDefault(&c.RateLimits.Login, DefaultLoginRate)
	setDefault(&c.RateLimits.Token, DefaultTokenRate)
	setDefault(&c.RateLimits.JWT, DefaultJWTRate)
	setDefault(&c.Log.Format, DefaultLogFormat)

	// Providers added in code may lack Key or a place in ProviderOrder;
	// append them in key order so the order stays deterministic.
	var missing []string
	for key, p := range c.Providers {
		if p.Key == "" {
			p.Key = key
		}
		setDefault(&p.DisplayName, key)
		c.Providers[key] = p
		if !slices.Contains(c.ProviderOrder, key) {
			missing = append(missing, key)
		}
	}
	sort.Strings(missing)
	c.ProviderOrder = append(c.ProviderOrder, missing...)
}

// Dev returns the development-mode configuration of contract §3 for the
// given listen address ("" means 127.0.0.1:8080): SQLite under
// ./sessionbridge-data, project default, the refresher on with a margin
// suited to two-minute access tokens, and every other default. The public
// URL follows the listen address. Secrets and providers are left empty:
// the caller loads or generates keys in the data folder (setting
// Secrets.SessionKeyBytes/TokenKeyBytes is enough) and adds the dev issuer
// before calling Validate.
func Dev(listen string) *Config {
	if listen == "" {
		listen = DefaultListen
	}
	c := &Config{
		Dev:     true,
		Listen:  listen,
		Refresh: Refresh{BeforeExpiry: DevBeforeExpiry},
	}
	c.ApplyDefaults()
	return c
}

// reachable turns a listen address into a host:port a browser on this
// machine can open: an unspecified host (":8080", "0.0.0.0:8080",
// "[::]:8080") becomes 127.0.0.1.
func reachable(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen // Validate reports the bad listen address
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}
