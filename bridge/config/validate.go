package config

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sessionbridge/sessionbridge/internal/allowlist"
)

var (
	projectRE     = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]{0,35}$`)
	providerKeyRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	typeNameRE    = regexp.MustCompile(`^[a-z0-9-]+$`)
)

// API key scopes (api_keys[].scopes).
const (
	ScopeSessionsRead  = "sessions.read"
	ScopeSessionsWrite = "sessions.write"
	ScopeUsersRead     = "users.read"
	ScopeUsersWrite    = "users.write"
)

// Values accepted by the enumerated settings.
var (
	apiScopes    = []string{ScopeSessionsRead, ScopeSessionsWrite, ScopeUsersRead, ScopeUsersWrite}
	sameSites    = []string{"lax", "strict", "none"}
	drivers      = []string{"sqlite", "postgres"}
	onFailures   = []string{"end_session", "keep_session"}
	logLevels    = []string{"debug", "info", "warn", "error"}
	logFormats   = []string{"text", "json"}
	builtinTypes = []string{"oidc", "oauth2"}
)

const (
	minSessionKeyLen = 32
	tokenKeyLen      = 32
	minAPISecretLen  = 16
	keyHint          = " (generate one with: openssl rand -base64 32)"
)

// Validate checks a configuration built in code (call ApplyDefaults
// first), accepting any well-formed provider type. Like Parse, it also
// fills the derived fields: the decoded keys in Secrets and a public_url
// without trailing slash. Problems carry no line numbers.
func (c *Config) Validate() error { return Loader{}.Validate(c) }

// Validate is Config.Validate with l's provider types.
func (l Loader) Validate(c *Config) error {
	col := newCollector(c.File)
	l.validate(c, col)
	return col.err()
}

func (l Loader) validate(c *Config, col *collector) {
	if msg := hostPortProblem(c.Listen); msg != "" {
		col.add("listen", msg)
	}
	c.PublicURL = strings.TrimSuffix(c.PublicURL, "/")
	publicOK := checkPublicURL(c.PublicURL, col)
	if !projectRE.MatchString(c.Project) {
		col.add("project", fmt.Sprintf("%q is not a valid project ID: 1 to 36 letters, digits, '.', '_' or '-', starting with a letter or digit", c.Project))
	}
	for i, p := range c.RedirectAllowlist {
		if err := allowlist.ValidatePattern(p); err != nil {
			col.add(index("redirect_allowlist", i), fmt.Sprintf("%q %v", p, err))
		}
	}
	checkSession(c.Session, col)
	checkCookies(c, publicOK, col)
	oneOf(col, "store.driver", c.Store.Driver, drivers)
	if c.Store.DSN == "" {
		col.add("store.dsn", "is required for the "+c.Store.Driver+" driver (for postgres, e.g. postgres://user:password@host/db)")
	}
	if c.Store.MaxConns < 0 {
		col.add("store.max_conns", "must not be negative (0 uses the driver default)")
	}
	checkSecrets(&c.Secrets, col)
	checkAPIKeys(c.APIKeys, col)
	positiveDuration(col, "refresh.before_expiry", c.Refresh.BeforeExpiry)
	if msg := hostPortProblem(c.Refresh.Listen); msg != "" {
		col.add("refresh.listen", msg)
	}
	checkOps(c.Ops, col)
	oneOf(col, "refresh.on_failure", c.Refresh.OnFailure, onFailures)
	positiveDuration(col, "refresh.timeout", c.Refresh.Timeout)
	positive(col, "refresh.concurrency", c.Refresh.Concurrency)
	notNegative(col, "refresh.provider_concurrency", float64(c.Refresh.ProviderConcurrency))
	notNegative(col, "refresh.provider_rate", c.Refresh.ProviderRate)
	notNegative(col, "refresh.provider_burst", float64(c.Refresh.ProviderBurst))
	for _, key := range c.ProviderOrder {
		validateProviderRefresh(col, "providers."+key+".", c.Providers[key])
	}
	positiveDuration(col, "rate_limits.window", c.RateLimits.Window)
	for i, v := range c.TrustedProxies {
		if _, ok := parseProxy(v); !ok {
			col.add(index("trusted_proxies", i), fmt.Sprintf("%s is not an IP address or CIDR range (e.g. 10.0.0.0/8)", quoteShort(v)))
		}
	}
	positive(col, "rate_limits.login", c.RateLimits.Login)
	positive(col, "rate_limits.token", c.RateLimits.Token)
	positive(col, "rate_limits.jwt", c.RateLimits.JWT)
	if c.GeoIP.Database != "" {
		if f, err := os.Open(c.GeoIP.Database); err != nil {
			col.add("geoip.database", fmt.Sprintf("cannot read the database file: %v (leave it empty to report countryCode \"--\")", err))
		} else {
			f.Close()
		}
	}
	checkBranding(c.Branding, col)
	oneOf(col, "log.level", c.Log.Level, logLevels)
	oneOf(col, "log.format", c.Log.Format, logFormats)
	for _, key := range c.ProviderOrder {
		if p, ok := c.Providers[key]; ok {
			l.checkProvider(&p, col)
			c.Providers[key] = p
		}
	}
}

// hostPortProblem checks a listen address; "" means it is fine.
// checkOps checks the optional ops listener address.
func checkOps(o Ops, col *collector) {
	if o.Listen == "" {
		return
	}
	if msg := hostPortProblem(o.Listen); msg != "" {
		col.add("ops.listen", msg)
	}
}

// ListenProblem says what is wrong with a listen address ("" when
// nothing), for flags such as serve --listen.
func ListenProblem(addr string) string { return hostPortProblem(addr) }

func hostPortProblem(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Sprintf("%q is not a host:port address such as 127.0.0.1:8080", addr)
	}
	if strings.ContainsAny(host, " /") {
		return fmt.Sprintf("%q has an invalid host", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Sprintf("%q has an invalid port (want 0-65535)", addr)
	}
	return ""
}

func checkPublicURL(raw string, col *collector) bool {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "" || u.Opaque != "":
		col.add("public_url", fmt.Sprintf("%q must be an absolute URL such as https://auth.example.com", raw))
	case u.Scheme != "https" && u.Scheme != "http":
		col.add("public_url", fmt.Sprintf("%q must start with https:// (or http:// for local use)", raw))
	case u.User != nil:
		col.add("public_url", "must not contain a user name or password")
	case u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(raw, "?") || strings.HasSuffix(raw, "#"):
		col.add("public_url", fmt.Sprintf("%q must be just scheme://host[:port], without a path, query or fragment (the bridge is served from the root)", raw))
	default:
		if _, err := allowlist.New(raw, nil); err != nil {
			col.add("public_url", fmt.Sprintf("%q is not a valid origin: %v", raw, strings.TrimPrefix(err.Error(), "own origin: ")))
			return false
		}
		return true
	}
	return false
}

func checkCookies(c *Config, publicOK bool, col *collector) {
	oneOf(col, "cookies.same_site", c.Cookies.SameSite, sameSites)
	if c.Cookies.SameSite == "none" && publicOK && !strings.HasPrefix(c.PublicURL, "https://") {
		col.add("cookies.same_site", "none requires an https public_url (browsers drop SameSite=None cookies that are not Secure)")
	}
	if c.Cookies.Domain == "" {
		return
	}
	domain := strings.ToLower(strings.TrimPrefix(c.Cookies.Domain, "."))
	if net.ParseIP(domain) != nil || !strings.Contains(domain, ".") || allowlist.ValidatePattern("https://"+domain) != nil {
		col.add("cookies.domain", fmt.Sprintf("%q is not a domain name such as example.com", c.Cookies.Domain))
		return
	}
	if publicOK {
		host := strings.ToLower(hostOf(c.PublicURL))
		if host != domain && !strings.HasSuffix(host, "."+domain) {
			col.add("cookies.domain", fmt.Sprintf("%q must be the public_url host %s or a parent domain of it, or browsers refuse the cookie", c.Cookies.Domain, host))
		}
	}
}

func checkSecrets(s *Secrets, col *collector) {
	s.SessionKeyBytes = checkKeys(col, "secrets.session_keys", s.SessionKeys, s.SessionKeyBytes, func(n int) string {
		if n < minSessionKeyLen {
			return fmt.Sprintf("decodes to %d bytes; a session key needs at least %d%s", n, minSessionKeyLen, keyHint)
		}
		return ""
	})
	s.TokenKeyBytes = checkKeys(col, "secrets.token_keys", s.TokenKeys, s.TokenKeyBytes, func(n int) string {
		if n != tokenKeyLen {
			return fmt.Sprintf("decodes to %d bytes; a token key must be exactly %d (AES-256)%s", n, tokenKeyLen, keyHint)
		}
		return ""
	})
}

// checkKeys decodes base64 keys and checks their sizes. A configuration
// built in code may carry only the decoded form, which is checked instead.
func checkKeys(col *collector, key string, encoded []string, decoded [][]byte, sizeProblem func(int) string) [][]byte {
	if len(encoded) == 0 {
		if len(decoded) == 0 {
			col.add(key, "at least one key is required"+keyHint)
		}
		for i, k := range decoded {
			if msg := sizeProblem(len(k)); msg != "" {
				col.add(index(key, i), msg)
			}
		}
		return decoded
	}
	out := make([][]byte, 0, len(encoded))
	for i, text := range encoded {
		k := index(key, i)
		raw, ok := decodeBase64(text)
		switch {
		case text == "":
			col.add(k, "is empty"+keyHint)
		case !ok:
			col.add(k, "is not valid base64 (standard or URL alphabet; check for spaces or line breaks)")
		case sizeProblem(len(raw)) != "":
			col.add(k, sizeProblem(len(raw)))
		default:
			if j := slices.IndexFunc(out, func(b []byte) bool { return string(b) == string(raw) }); j >= 0 {
				col.add(k, "repeats an earlier key")
				continue
			}
			out = append(out, raw)
		}
	}
	return out
}

func decodeBase64(s string) ([]byte, bool) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, true
		}
	}
	return nil, false
}

func checkAPIKeys(keys []APIKey, col *collector) {
	ids := map[string]int{}
	secrets := map[string]int{}
	for i, k := range keys {
		base := index("api_keys", i)
		switch {
		case k.ID == "":
			col.add(join(base, "id"), "is required (a name for this key, shown in logs)")
		case strings.ContainsAny(k.ID, " \t\r\n"):
			col.add(join(base, "id"), fmt.Sprintf("%q must not contain whitespace", k.ID))
		default:
			if j, dup := ids[k.ID]; dup {
				col.add(join(base, "id"), fmt.Sprintf("%q is already used by api_keys[%d]", k.ID, j))
			} else {
				ids[k.ID] = i
			}
		}
		if len(k.Secret) < minAPISecretLen {
			col.add(join(base, "secret"), fmt.Sprintf("must be at least %d characters (it has %d); use a long random value", minAPISecretLen, len(k.Secret)))
		} else if j, dup := secrets[k.Secret]; dup {
			col.add(join(base, "secret"), fmt.Sprintf("is the same as the secret of api_keys[%d]; every key needs its own", j))
		} else {
			secrets[k.Secret] = i
		}
		if len(k.Scopes) == 0 {
			col.add(join(base, "scopes"), "at least one scope is required: "+strings.Join(apiScopes, ", "))
		}
		for j, s := range k.Scopes {
			if !slices.Contains(apiScopes, s) {
				col.add(index(join(base, "scopes"), j), fmt.Sprintf("unknown scope %q; valid scopes: %s", s, strings.Join(apiScopes, ", ")))
			}
		}
	}
}

func oneOf(col *collector, key, value string, valid []string) {
	if !slices.Contains(valid, value) {
		col.add(key, fmt.Sprintf("%q is not one of: %s", value, strings.Join(valid, ", ")))
	}
}

func positive(col *collector, key string, n int) {
	if n <= 0 {
		col.add(key, fmt.Sprintf("must be greater than 0 (got %d)", n))
	}
}

func positiveDuration(col *collector, key string, d time.Duration) {
	if d <= 0 {
		col.add(key, fmt.Sprintf("must be greater than 0 (got %s)", d))
	}
}

func hostOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

func notNegative(col *collector, key string, n float64) {
	if n < 0 {
		col.add(key, "must not be negative (0 means the default)")
	}
}

func checkSession(s Session, col *collector) {
	positiveDuration(col, "session.duration", s.Duration)
	positive(col, "session.max_per_user", s.MaxPerUser)
	if n := s.SessionCacheSize(); n < 0 {
		col.add("session.cache_size", fmt.Sprintf("must be 0 (off) or more (got %d)", n))
	}
}

// validateProviderRefresh checks a provider's own refresh settings.
func validateProviderRefresh(col *collector, base string, p Provider) {
	notNegative(col, base+"refresh_concurrency", float64(p.RefreshConcurrency))
	notNegative(col, base+"refresh_rate", p.RefreshRate)
	notNegative(col, base+"refresh_burst", float64(p.RefreshBurst))
	if p.MinRefreshInterval != nil {
		notNegative(col, base+"min_refresh_interval", float64(*p.MinRefreshInterval))
	}
}
