// Package config is the YAML configuration of contract §4: its schema,
// strict decoding with file:line errors, ${VAR} expansion and validation.
package config

import (
	"net/netip"
	"strings"
	"time"

	"github.com/sessionbridge/sessionbridge/providers/providerconfig"
)

// Config is the whole configuration file after expansion and defaults.
type Config struct {
	// File is the path the configuration was read from ("" in development mode).
	File string `yaml:"-"`
	// Dev is true in development mode (no configuration file).
	Dev bool `yaml:"-"`

	Listen            string   `yaml:"listen"`
	PublicURL         string   `yaml:"public_url"`
	Project           string   `yaml:"project"`
	RedirectAllowlist []string `yaml:"redirect_allowlist"`
	// TrustedProxies are the addresses or CIDR ranges of reverse proxies
	// whose X-Forwarded-For is believed (loopback always is).
	TrustedProxies []string            `yaml:"trusted_proxies"`
	Session        Session             `yaml:"session"`
	Cookies        Cookies             `yaml:"cookies"`
	Store          Store               `yaml:"store"`
	Secrets        Secrets             `yaml:"secrets"`
	APIKeys        []APIKey            `yaml:"api_keys"`
	Refresh        Refresh             `yaml:"refresh"`
	GeoIP          GeoIP               `yaml:"geoip"`
	Log            Log                 `yaml:"log"`
	Ops            Ops                 `yaml:"ops"`
	RateLimits     RateLimits          `yaml:"rate_limits"`
	Branding       Branding            `yaml:"branding"`
	Providers      map[string]Provider `yaml:"providers"`
	// ProviderOrder lists provider keys in file order (maps lose it).
	ProviderOrder []string `yaml:"-"`

	lines map[string]int // key path ("providers.corp.issuer", "api_keys[0].secret") → line
}

// Line is the line of a key path in the file (as problems name it, e.g.
// "providers.corp.settings.base_url"), falling back to the nearest
// enclosing key that has one; 0 when the configuration has no file.
func (c *Config) Line(path string) int {
	for path != "" {
		if n, ok := c.lines[path]; ok {
			return n
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return c.lines[""]
}

// TrustedProxyPrefixes returns TrustedProxies as prefixes (a bare address
// is a single-address prefix); entries that do not parse are skipped, as
// Validate reports them.
func (c *Config) TrustedProxyPrefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, v := range c.TrustedProxies {
		if p, ok := parseProxy(v); ok {
			out = append(out, p)
		}
	}
	return out
}

func parseProxy(v string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(v); err == nil {
		return p.Masked(), true
	}
	if a, err := netip.ParseAddr(v); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}

// Session configures session lifetime and what owners may see.
type Session struct {
	Duration time.Duration `yaml:"duration"` // absolute lifetime (expire); default 8760h
	// MaxPerUser caps sessions per user; the oldest is removed first. Default 10.
	MaxPerUser int `yaml:"max_per_user"`
	// ExposeRefreshToken shows providerRefreshToken to the session's owner
	// (by default only API keys see it).
	ExposeRefreshToken bool `yaml:"expose_refresh_token"`
	// CacheSize caps the per-instance cache of authenticated sessions
	// (entries); 0 turns it off. Nil: DefaultCacheSize.
	CacheSize *int `yaml:"cache_size"`
}

// SessionCacheSize returns the effective session.cache_size.
func (s Session) SessionCacheSize() int {
	if s.CacheSize == nil {
		return DefaultCacheSize
	}
	return *s.CacheSize
}

// Cookies configures the session cookie's attributes.
type Cookies struct {
	// SameSite is lax (default), strict or none; none requires an https public_url.
	SameSite string `yaml:"same_site"`
	// Domain, when set, scopes the cookie to a parent domain.
	Domain string `yaml:"domain"`
}

// Store selects the storage backend.
type Store struct {
	Driver string `yaml:"driver"` // sqlite | postgres
	DSN    string `yaml:"dsn"`
	// MaxConns sizes the PostgreSQL pool (0: from the DSN or the driver default).
	MaxConns int `yaml:"max_conns"`
}

// Secrets holds the key material, base64-encoded in the file and decoded here.
type Secrets struct {
	SessionKeys []string `yaml:"session_keys"`
	TokenKeys   []string `yaml:"token_keys"`
	// Decoded forms, filled by validation (first = current).
	SessionKeyBytes [][]byte `yaml:"-"`
	TokenKeyBytes   [][]byte `yaml:"-"`
}

// APIKey is a server credential for X-Appwrite-Key.
type APIKey struct {
	ID     string   `yaml:"id"`
	Secret string   `yaml:"secret"`
	Scopes []string `yaml:"scopes"`
}

// Refresh configures the token refresher.
type Refresh struct {
	// Enabled runs the refresher inside serve. Default true.
	Enabled      *bool         `yaml:"enabled"`
	BeforeExpiry time.Duration `yaml:"before_expiry"` // default 5m
	Listen       string        `yaml:"listen"`        // for `sessionbridge refresh`; default 127.0.0.1:9090
	// OnFailure: end_session (default) or keep_session, after a permanent refresh error.
	OnFailure string `yaml:"on_failure"`
	// Timeout bounds one token request. Default 30s.
	Timeout time.Duration `yaml:"timeout"`
	// Concurrency bounds refreshes in flight in one process. Default 64.
	Concurrency int `yaml:"concurrency"`
	// ProviderConcurrency bounds one provider's refreshes in flight in one
	// process (default: concurrency). A provider's refresh_concurrency wins.
	ProviderConcurrency int `yaml:"provider_concurrency"`
	// ProviderRate caps one provider's token requests per second per
	// process (0: unlimited), with bursts of ProviderBurst (default 1).
	// A provider's refresh_rate / refresh_burst win.
	ProviderRate  float64 `yaml:"provider_rate"`
	ProviderBurst int     `yaml:"provider_burst"`
}

// RefreshEnabled reports whether serve runs the refresher.
func (r Refresh) RefreshEnabled() bool { return r.Enabled == nil || *r.Enabled }

// RateLimits bounds, per client IP and per process, how often the login
// start routes, the callback and POST /v1/account/sessions/token may be
// called. Callers with an API key are not limited.
type RateLimits struct {
	// Enabled turns the limits on (default true).
	Enabled *bool         `yaml:"enabled"`
	Window  time.Duration `yaml:"window"` // default 10m
	// Login is the budget per window of each start route and of the callback (default 300).
	Login int `yaml:"login"`
	// Token is the budget per window of POST /v1/account/sessions/token, per IP and user (default 60).
	Token int `yaml:"token"`
	// JWT is the budget of POST /v1/account/jwts per user and hour, not
	// per window (default 100, Appwrite's).
	JWT int `yaml:"jwt"`
}

// LimitsEnabled reports whether rate limits apply (default true).
func (r RateLimits) LimitsEnabled() bool { return r.Enabled == nil || *r.Enabled }

// GeoIP configures the country database.
type GeoIP struct {
	Database string `yaml:"database"`
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level"`  // debug | info | warn | error; default info
	Format string `yaml:"format"` // text | json; default text
	// Access logs one line per HTTP request at info (default true).
	Access *bool `yaml:"access"`
}

// AccessEnabled reports whether the access log is on (default true).
func (l Log) AccessEnabled() bool { return l.Access == nil || *l.Access }

// Ops configures the operations listener of serve.
type Ops struct {
	// Listen, when set, serves /metrics, /healthz, /readyz and
	// /debug/pprof/ there, and /metrics leaves the public listener.
	Listen string `yaml:"listen"`
}

// Provider is one entry under providers:. The keys every entry has are
// decoded here; the rest of the entry belongs to its type, which owns
// their schema and checks (see providerconfig and providers/registry).
type Provider struct {
	Key         string `yaml:"-"`
	Type        string `yaml:"type"`
	DisplayName string `yaml:"display_name"`

	// Refresh limits for this provider, overriding refresh.provider_*:
	// providers publish token-endpoint limits.
	RefreshConcurrency int     `yaml:"refresh_concurrency"`
	RefreshRate        float64 `yaml:"refresh_rate"`
	RefreshBurst       int     `yaml:"refresh_burst"`
	// MinRefreshInterval is the least time between two refreshes of one
	// grant (unset: the preset's default, e.g. 24h for Apple; 0s: none).
	// Access tokens may lapse until it has passed.
	MinRefreshInterval *time.Duration `yaml:"min_refresh_interval"`

	// Config is the type's own configuration, decoded from the same
	// mapping (e.g. *oidc.Config for type oidc). A configuration built in
	// code sets it.
	Config providerconfig.Config `yaml:"-"`

	// Line is the line of the provider's key in the file, for messages.
	Line int `yaml:"-"`
}
