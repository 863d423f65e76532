package bridge

import (
	"context"
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sessionbridge/sessionbridge/providers"
)

// Metrics counts logins and created sessions. Labels are the configured
// provider key and a small fixed failure type: never a user, IP or token.
// A nil *Metrics counts nothing.
type Metrics struct {
	started   *prometheus.CounterVec
	completed *prometheus.CounterVec
	failed    *prometheus.CounterVec
	created   *prometheus.CounterVec
}

// NewMetrics registers the login and session counters with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		started: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sessionbridge_logins_started_total",
			Help: "Logins sent to their provider (the browser was redirected to the authorization URL).",
		}, []string{"provider"}),
		completed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sessionbridge_logins_completed_total",
			Help: "Logins that came back and produced a session (or a token-flow secret).",
		}, []string{"provider"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sessionbridge_logins_failed_total",
			Help: "Logins that failed, by provider and failure type (state_invalid, provider_refused, provider_unavailable, verification_failed, token_error, timeout, bad_request, internal).",
		}, []string{"provider", "type"}),
		created: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sessionbridge_sessions_created_total",
			Help: "Sessions created, by provider.",
		}, []string{"provider"}),
	}
	for _, c := range []prometheus.Collector{m.started, m.completed, m.failed, m.created} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Metrics) loginStarted(provider string) {
	if m != nil {
		m.started.WithLabelValues(provider).Inc()
	}
}

func (m *Metrics) loginCompleted(provider string) {
	if m != nil {
		m.completed.WithLabelValues(provider).Inc()
	}
}

func (m *Metrics) loginFailed(provider string, err error) {
	if m != nil {
		m.failed.WithLabelValues(provider, failureType(err)).Inc()
	}
}

func (m *Metrics) sessionCreated(provider string) {
	if m != nil {
		m.created.WithLabelValues(provider).Inc()
	}
}

// errProviderRefused marks a callback that carried the provider's error
// (the user denied access, or the provider refused the request).
var errProviderRefused = errors.New("the provider refused the login")

// failureType is the metric label of a failed login: one of a fixed set.
func failureType(err error) string {
	var unavailable *providers.UnavailableError
	var verification *providers.VerificationError
	var oauthErr *providers.OAuthError
	var e *Error
	switch {
	case errors.Is(err, errStateInvalid):
		return "state_invalid"
	case errors.Is(err, errProviderRefused):
		return "provider_refused"
	case errors.As(err, &unavailable):
		return "provider_unavailable"
	case errors.As(err, &verification):
		return "verification_failed"
	case errors.As(err, &oauthErr):
		return "token_error"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return "timeout"
	case errors.As(err, &e) && e.Kind.CallerFault():
		return "bad_request"
	}
	return "internal"
}

// metricProvider is key when it is a configured provider, else "unknown"
// (the key comes from the URL: it must not grow the label set).
func (s *Service) metricProvider(key string) string {
	if _, ok := s.o.Providers[key]; ok {
		return key
	}
	return "unknown"
}

// LoginStateRejected counts a callback whose state this browser did not
// start (missing, foreign or expired): a failed login of type
// state_invalid that never reached CompleteLogin.
func (s *Service) LoginStateRejected(provider string) {
	s.o.Metrics.loginFailed(s.metricProvider(provider), errStateInvalid)
}
