// Package lifecycle names why sessions end and counts them. Every path
// that ends sessions (sign-out, revoke, the refresher, the janitor,
// logout, blocking or deleting a user, the administration commands)
// reports here, so that one metric, sessionbridge_sessions_ended_total,
// sees them all under one set of reason labels.
package lifecycle

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Reason says why a session ended; it is the metric's "reason" label, so
// its values are a small fixed set.
type Reason string

// The reasons a session ends.
const (
	SignedOut         Reason = "signed_out"         // its owner signed out or deleted it
	Revoked           Reason = "revoked"            // an API key or an operator ended it
	RefreshRejected   Reason = "refresh_rejected"   // the provider rejected the grant (invalid_grant)
	Expired           Reason = "expired"            // past its expire time (janitor)
	OverCap           Reason = "over_cap"           // the user's oldest beyond session.max_per_user
	BackchannelLogout Reason = "backchannel_logout" // the provider's back-channel logout token
	UserBlocked       Reason = "user_blocked"       // its user was blocked
	UserDeleted       Reason = "user_deleted"       // its user was deleted
	IdentityDeleted   Reason = "identity_deleted"   // its identity was deleted
)

// Recorder counts ended sessions. A nil *Recorder counts nothing, so tests
// and tools that do not care need not build one.
type Recorder struct {
	ended *prometheus.CounterVec
}

// New returns a Recorder whose counter is registered with reg (nil: kept
// but not registered).
func New(reg prometheus.Registerer) (*Recorder, error) {
	r := &Recorder{ended: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sessionbridge_sessions_ended_total",
		Help: "Sessions ended (or, with refresh.on_failure keep_session, stripped of provider tokens), by provider and reason.",
	}, []string{"provider", "reason"})}
	if reg != nil {
		if err := reg.Register(r.ended); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Ended counts n sessions of provider that ended for reason.
func (r *Recorder) Ended(provider string, reason Reason, n int) {
	if r == nil || n <= 0 {
		return
	}
	r.ended.WithLabelValues(provider, string(reason)).Add(float64(n))
}

// Counter exposes the counter (tests read it with prometheus/testutil).
func (r *Recorder) Counter() *prometheus.CounterVec { return r.ended }
