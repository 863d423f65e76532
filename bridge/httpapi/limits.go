package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge"
	"github.com/sessionbridge/sessionbridge/bridge/ratelimit"
)

// RateLimit is one route's budget: Limit requests per Window per client.
// A zero Limit or Window takes the default; a negative Limit turns the
// limit off.
type RateLimit struct {
	Limit  int
	Window time.Duration
}

// RateLimits are the abuse limits of the login routes. The defaults follow
// the abuse-limit labels of the same routes in Appwrite (abuse-time 3600
// s): 50 per hour per client IP for each OAuth2 start route and for the
// callback, and 10 per hour per client IP and userId for POST
// /v1/account/sessions/token (keyed by userId too, as Appwrite does, so a
// backend redeeming tokens for many users from one address is not
// starved). Callers with a valid API key are not limited, as Appwrite
// exempts app (key) callers. The counters live in this process: behind a
// load balancer each instance enforces its own budget.
type RateLimits struct {
	SessionStart RateLimit // GET /v1/account/sessions/oauth2/{provider}
	TokenStart   RateLimit // GET /v1/account/tokens/oauth2/{provider}
	Callback     RateLimit // GET and POST .../oauth2/callback/{provider}/{project}
	Token        RateLimit // POST /v1/account/sessions/token
	// JWT is POST /v1/account/jwts, counted per user (Appwrite: 100 per
	// hour per user).
	JWT RateLimit
	// MaxClients bounds the clients tracked per route (0: ratelimit.DefaultMaxKeys).
	MaxClients int
}

// Default budgets (Appwrite's).
const (
	DefaultLoginLimit = 50
	DefaultTokenLimit = 10
	DefaultJWTLimit   = 100
	DefaultLimitTime  = time.Hour
)

// limiters holds one limiter per limited route; nil means unlimited.
type limiters struct {
	sessionStart, tokenStart, callback, token, jwt *ratelimit.Limiter
}

func newLimiters(o RateLimits, now func() time.Time) limiters {
	mk := func(r RateLimit, def int) *ratelimit.Limiter {
		if r.Limit < 0 {
			return nil
		}
		if r.Limit == 0 {
			r.Limit = def
		}
		if r.Window <= 0 {
			r.Window = DefaultLimitTime
		}
		return ratelimit.New(r.Limit, r.Window, o.MaxClients, now)
	}
	return limiters{
		sessionStart: mk(o.SessionStart, DefaultLoginLimit),
		tokenStart:   mk(o.TokenStart, DefaultLoginLimit),
		callback:     mk(o.Callback, DefaultLoginLimit),
		token:        mk(o.Token, DefaultTokenLimit),
		jwt:          mk(o.JWT, DefaultJWTLimit),
	}
}

// errRateLimited is Appwrite's general_rate_limit_exceeded.
var errRateLimited = &bridge.Error{Type: bridge.TypeRateLimitExceeded, Kind: bridge.KindRateLimited,
	Message: "Rate limit for the current endpoint has been exceeded. Please try again after some time."}

// allow counts a request against l under key and sets the X-RateLimit-*
// headers (and Retry-After when refused). It reports whether the request
// may proceed. API-key callers and disabled limits always may, and get no
// headers, as in Appwrite.
func (s *Server) allow(w http.ResponseWriter, r *http.Request, l *ratelimit.Limiter, key string) bool {
	if l == nil {
		return true
	}
	if _, ok := s.apiKeyFor(r); ok {
		return true
	}
	d := l.Allow(key)
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(d.Limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(d.Remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(d.Reset.Unix(), 10))
	if !d.Allowed {
		wait := int64(d.Reset.Sub(s.o.Now()).Seconds() + 0.999)
		h.Set("Retry-After", strconv.FormatInt(max(wait, 1), 10))
		if d.FirstRefusal { // once per client and window: a flood does not flood the log
			s.log.Info("rate limit exceeded", "route", r.Pattern, "ip", s.clientIP(r))
		}
	}
	return d.Allowed
}
