package refresh

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Results of one claimed grant (label "result" of refresh_attempts_total).
const (
	resultSuccess   = "success"
	resultTransient = "transient"
	resultPermanent = "permanent"
	resultConflict  = "conflict" // the session was deleted or changed meanwhile; the result was dropped
	resultSkipped   = "skipped"  // no request was sent (circuit open, rate limit, no token, ...)
	// resultMisconfigured: the provider refused the bridge's client or
	// configuration (the provider is parked; the session is kept).
	resultMisconfigured = "misconfigured"
)

// unknownProvider labels grants whose provider key is not configured, so
// label values stay bounded by the configuration.
const unknownProvider = "unknown"

type metrics struct {
	attempts *prometheus.CounterVec
	duration *prometheus.HistogramVec
	due      prometheus.Gauge
	overdue  prometheus.Gauge
	lead     prometheus.Histogram
	expired  *prometheus.CounterVec
	inflight prometheus.Gauge
	circuit  *prometheus.GaugeVec
	parked   *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sessionbridge_refresh_attempts_total",
			Help: "Claimed grants by outcome: success, transient, permanent, conflict (result dropped), skipped (no request sent).",
		}, []string{"provider", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sessionbridge_token_request_duration_seconds",
			Help:    "Duration of refresh_token requests to the provider.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"provider"}),
		due: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sessionbridge_grants_due",
			Help: "Grants due for refresh at the last scheduler tick.",
		}),
		overdue: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sessionbridge_grants_overdue",
			Help: "Grants due for more than 30s at the last scheduler tick.",
		}),
		lead: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sessionbridge_refresh_lead_time_seconds",
			Help:    "Time left before the access token expires when its refresh is sent (0 when already expired).",
			Buckets: []float64{0, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600},
		}),
		expired: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sessionbridge_expired_before_refresh_total",
			Help: "Access tokens that expired before their refresh succeeded.",
		}, []string{"provider"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sessionbridge_refresh_in_flight",
			Help: "Grants claimed by this process and being refreshed.",
		}),
		circuit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sessionbridge_circuit_open",
			Help: "1 while a provider's refresh circuit breaker is open or half-open.",
		}, []string{"provider"}),
		parked: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sessionbridge_provider_misconfigured",
			Help: "1 while a provider's refreshes are parked because it refused the bridge's client or configuration (invalid_client & co).",
		}, []string{"provider"}),
	}
	if reg == nil {
		return m, nil
	}
	var errs []error
	for _, c := range []prometheus.Collector{m.attempts, m.duration, m.due, m.overdue, m.lead, m.expired, m.inflight, m.circuit, m.parked} {
		errs = append(errs, reg.Register(c))
	}
	return m, errors.Join(errs...)
}

func (m *metrics) result(provider, result string) {
	m.attempts.WithLabelValues(provider, result).Inc()
}

func (m *metrics) setCircuit(provider string, open bool) {
	v := 0.0
	if open {
		v = 1
	}
	m.circuit.WithLabelValues(provider).Set(v)
}

func (m *metrics) setParked(provider string, parked bool) {
	v := 0.0
	if parked {
		v = 1
	}
	m.parked.WithLabelValues(provider).Set(v)
}
