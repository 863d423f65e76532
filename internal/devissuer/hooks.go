package devissuer

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Hooks are the issuer's extension point. Development mode sets none, so
// the issuer behaves as the specs say; tests set them (through
// internal/testenv/testissuer, which turns a catalogue of named faults
// into hooks) to make it misbehave in precise ways and check that a
// relying party notices. Every hook is optional and is fixed at New; a
// hook that wants to change its behaviour later reads its own state.
type Hooks struct {
	// Intercept may answer a request in place of the issuer at point p
	// (see Point). It returns nil to let the issuer go on.
	Intercept func(p Point, r *http.Request) *Answer
	// ClientAuthMethods lists the client authentication methods (AuthBasic,
	// AuthPost) the token and revocation endpoints accept at the moment;
	// the other is refused with invalid_client. Nil or empty accepts both.
	ClientAuthMethods func() []string
	// AuthorizationResponse may change the parameters of the redirect back
	// to the client (code or error, state, iss) before it is sent.
	AuthorizationResponse func(params url.Values)
	// IDToken makes each ID token, from the code exchange and refreshes
	// alike: it gets the claims the issuer would sign and sign, the
	// issuer's own signing, and returns the compact token. A hook changes
	// claims before calling sign, or signs with another key.
	IDToken func(claims map[string]any, sign func(map[string]any) (string, error)) (string, error)
	// TokenResponse may change a successful token answer before it takes
	// effect. An answer left without RefreshToken does not rotate: the
	// presented refresh token stays the grant's current one. It runs with
	// the issuer's lock held, so it must not call the issuer.
	TokenResponse func(grantType string, resp *TokenResponse)
	// UserinfoClaims may change a successful user-info answer.
	UserinfoClaims func(claims map[string]any)
}

// Point names where Hooks.Intercept runs.
type Point string

// The points at which Hooks.Intercept runs. Each runs after the request
// was counted in Stats and recorded, so an intercepted request still
// shows in Requests.
const (
	// AtDiscovery: the discovery document, on arrival.
	AtDiscovery Point = "discovery"
	// AtJWKS: the key set, on arrival.
	AtJWKS Point = "jwks"
	// AtToken: the token endpoint for every grant type, once the form is
	// read, before client authentication.
	AtToken Point = "token"
	// AtRefresh: grant_type=refresh_token after client authentication,
	// before the refresh token is looked at, so an intercepted refresh
	// leaves the presented token valid (not consumed, not rotated).
	AtRefresh Point = "refresh"
	// AtRevoke: the revocation endpoint after client authentication,
	// before the token is looked at.
	AtRevoke Point = "revoke"
)

// Answer is what Hooks.Intercept makes an endpoint answer instead of the
// issuer. The zero Answer (or one with only Delay) lets the issuer go on.
type Answer struct {
	// Delay holds the request this long first. A client that gives up
	// meanwhile gets no answer; the request is recorded as "canceled".
	Delay time.Duration
	// Error answers an RFC 6749 §5.2 JSON error with this code and
	// Description, with Status (default 400).
	Error       string
	Description string
	// Status answers with this HTTP status and Body (text/plain unless
	// ContentType says otherwise), when Error is empty.
	Status      int
	ContentType string
	Body        string
	// RetryAfter is sent as the Retry-After header.
	RetryAfter string
	// Record is the error noted in the request's RequestRecord when Error
	// is empty (say "html").
	Record string
}

// answers reports whether a answers the request (rather than only
// delaying it).
func (a *Answer) answers() bool { return a.Error != "" || a.Status != 0 || a.Body != "" }

// intercept runs Hooks.Intercept at p and, when it answers, writes that
// answer; it reports whether the request is finished.
func (i *Issuer) intercept(w http.ResponseWriter, r *http.Request, p Point) bool {
	if i.hooks.Intercept == nil {
		return false
	}
	a := i.hooks.Intercept(p, r)
	if a == nil {
		return false
	}
	if a.Delay > 0 && !wait(r, a.Delay) {
		rec(r).Error = errCanceled
		return true
	}
	if !a.answers() {
		return false
	}
	if a.Error != "" {
		status := a.Status
		if status == 0 {
			status = http.StatusBadRequest
		}
		i.tokenError(w, r, status, a.Error, a.Description, a.RetryAfter)
		return true
	}
	writeAnswer(w, r, a)
	return true
}

// writeAnswer writes an Answer that is not an OAuth error.
func writeAnswer(w http.ResponseWriter, r *http.Request, a *Answer) {
	if a.Record != "" {
		rec(r).Error = a.Record
	}
	if a.RetryAfter != "" {
		w.Header().Set("Retry-After", a.RetryAfter)
	}
	status := a.Status
	if status == 0 {
		status = http.StatusOK
	}
	if a.ContentType == "" {
		http.Error(w, a.Body, status)
		return
	}
	w.Header().Set("Content-Type", a.ContentType)
	w.WriteHeader(status)
	_, _ = w.Write([]byte(a.Body))
}

// wait holds r for d; it reports false when the client gave up first.
func wait(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// refusedAuthMethod says why the client authentication style is refused
// by Hooks.ClientAuthMethods, or "" when it is accepted.
func (i *Issuer) refusedAuthMethod(style string) string {
	if i.hooks.ClientAuthMethods == nil {
		return ""
	}
	allowed := i.hooks.ClientAuthMethods()
	if len(allowed) == 0 || slices.Contains(allowed, style) {
		return ""
	}
	return "this client must use " + strings.Join(allowed, " or ")
}
