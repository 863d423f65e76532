package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// requestIDHeader carries the request ID: accepted from a trusted proxy,
// generated otherwise, and always echoed in the response.
const requestIDHeader = "X-Request-Id"

// requestIDPattern is what a proxy's request ID may look like; anything
// else (too long, odd characters that could forge log fields) is replaced.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:@/+=-]{1,128}$`)

// RequestMetrics are the request counter and latency histogram. Labels
// are the route pattern (never the path, which can carry IDs), the method
// and the status: a bounded set.
type RequestMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewRequestMetrics registers the HTTP request metrics with reg.
func NewRequestMetrics(reg prometheus.Registerer) (*RequestMetrics, error) {
	m := &RequestMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sessionbridge_http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sessionbridge_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern and method.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// recorder remembers the status and size of a response.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the real writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// requestID is the trusted proxy's X-Request-Id when well-formed, else a
// new random one.
func (s *Server) requestID(r *http.Request) string {
	if v := r.Header.Get(requestIDHeader); v != "" && requestIDPattern.MatchString(v) {
		if peer := parseAddr(r.RemoteAddr); peer.IsValid() && s.trusted(peer) {
			return v
		}
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// observe records one finished request: the metrics and, when enabled,
// the access log line. It logs the route pattern, never the path or
// query (they carry login handles, codes and state), and no header but
// the request ID.
func (s *Server) observe(rec *recorder, r *http.Request, rid string, start time.Time) {
	elapsed := time.Since(start)
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	route := routeLabel(r.Pattern)
	method := methodLabel(r.Method)
	if s.metrics != nil {
		s.metrics.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
		s.metrics.duration.WithLabelValues(route, method).Observe(elapsed.Seconds())
	}
	if s.o.AccessLog {
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "http request",
			slog.String("method", method), slog.String("route", route), slog.Int("status", status),
			slog.Float64("duration", elapsed.Seconds()), slog.Int64("bytes", rec.bytes),
			slog.String("ip", s.clientIP(r)), slog.String("request_id", rid))
	}
}

// routeLabel is a mux pattern without its method ("GET /v1/account" →
// "/v1/account"); "unmatched" for requests answered before routing
// (CORS preflights, a wrong project).
func routeLabel(pattern string) string {
	if pattern == "" {
		return "unmatched"
	}
	if _, path, ok := strings.Cut(pattern, " "); ok {
		return path
	}
	return pattern
}

// methodLabel keeps the standard methods and folds the rest into "other".
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}
