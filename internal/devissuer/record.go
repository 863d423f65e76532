package devissuer

import (
	"context"
	"net/http"
	"time"
)

// Stats counts what the issuer was asked to do.
type Stats struct {
	DiscoveryRequests int
	AuthorizeRequests int
	Logins            int // authorizations approved (codes issued)
	TokenRequests     int // grant_type=authorization_code requests
	RefreshRequests   int // grant_type=refresh_token requests
	Replays           int // superseded refresh tokens presented
	CodeReuses        int // authorization codes presented after their first use
	InvalidGrants     int // token endpoint answers with error=invalid_grant
	UserinfoRequests  int
	Revocations       int // successful /revoke requests
	EndSessions       int // accepted /end_session requests (RP-initiated logout)
}

// Client authentication styles in RequestRecord.ClientAuth.
const (
	AuthBasic = "client_secret_basic"
	AuthPost  = "client_secret_post"
	AuthNone  = "none"
	AuthBoth  = "both" // credentials in the header and the body: refused
)

// RequestRecord describes one request to the issuer.
type RequestRecord struct {
	Time     time.Time // arrival, by the issuer's clock
	Method   string
	Endpoint string // "discovery", "jwks", "authorize", "token", "userinfo", "revoke", or the path
	// GrantType and ClientAuth are set for token and revoke requests.
	GrantType  string
	ClientAuth string
	// RefreshTokenID identifies the refresh token presented (a hash prefix,
	// the same key RefreshTokenUses uses); "" when none.
	RefreshTokenID string
	Status         int    // HTTP status answered; 0 when the client gave up first
	Error          string // OAuth error code answered, if any, or "canceled"
}

// errCanceled marks a request whose client went away before the answer
// (while a hook's Answer.Delay held it).
const errCanceled = "canceled"

// Stats returns a snapshot of the counters.
func (i *Issuer) Stats() Stats {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.stats
}

// Requests returns the most recent requests (at most 4096), oldest first.
func (i *Issuer) Requests() []RequestRecord {
	i.mu.Lock()
	defer i.mu.Unlock()
	return append([]RequestRecord(nil), i.records...)
}

// TokenRequestRecords returns the recorded token endpoint requests.
func (i *Issuer) TokenRequestRecords() []RequestRecord {
	var out []RequestRecord
	for _, r := range i.Requests() {
		if r.Endpoint == "token" {
			out = append(out, r)
		}
	}
	return out
}

// ResetStats zeroes the counters and forgets the request records and
// refresh token use counts; issued tokens stay valid.
func (i *Issuer) ResetStats() {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.stats = Stats{}
	i.records = nil
	i.st.uses = map[string]int{}
}

// RefreshTokenUses returns how often each refresh token was presented to the
// token endpoint (whatever the answer), keyed by a hash prefix of the token.
func (i *Issuer) RefreshTokenUses() map[string]int {
	i.mu.Lock()
	defer i.mu.Unlock()
	out := make(map[string]int, len(i.st.uses))
	for k, v := range i.st.uses {
		out[k] = v
	}
	return out
}

// MaxUsesOfAnyRefreshToken returns the highest presentation count of any
// refresh token; 1 means no refresh token was ever sent twice.
func (i *Issuer) MaxUsesOfAnyRefreshToken() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	m := 0
	for _, v := range i.st.uses {
		m = max(m, v)
	}
	return m
}

// TokenID returns the key under which RefreshTokenUses and RequestRecord
// name tok.
func TokenID(tok string) string { return tokenHash(tok)[:16] }

type recordKey struct{}

// statusWriter remembers the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// record wraps h so every request leaves a RequestRecord; handlers fill in
// details through rec(r).
func (i *Issuer) record(endpoint string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &RequestRecord{Time: i.now(), Method: r.Method, Endpoint: endpoint}
		sw := &statusWriter{ResponseWriter: w}
		h(sw, r.WithContext(context.WithValue(r.Context(), recordKey{}, rec)))
		rec.Status = sw.status
		if rec.Status == 0 && rec.Error != errCanceled {
			rec.Status = http.StatusOK
		}
		i.mu.Lock()
		if len(i.records) >= maxRecords {
			i.records = append(i.records[:0], i.records[len(i.records)-maxRecords+1:]...)
		}
		i.records = append(i.records, *rec)
		i.mu.Unlock()
	})
}

// rec returns the request's record (a throwaway one outside record).
func rec(r *http.Request) *RequestRecord {
	if p, ok := r.Context().Value(recordKey{}).(*RequestRecord); ok {
		return p
	}
	return &RequestRecord{}
}
