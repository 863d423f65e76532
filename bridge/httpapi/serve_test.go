package httpapi

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sessionbridge/sessionbridge/bridge"
)

func TestCORS(t *testing.T) {
	preflight := []string{"Origin", appOrigin, "Access-Control-Request-Method", "PATCH"}
	runRoutes(t, []routeCase{
		{name: "preflight from an allowed origin", req: request{method: "OPTIONS", path: "/v1/account/sessions/current", header: preflight}, status: 204, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			hd := rec.Header()
			if hd.Get("Access-Control-Allow-Origin") != appOrigin || hd.Get("Access-Control-Allow-Credentials") != "true" ||
				!strings.Contains(hd.Get("Access-Control-Allow-Methods"), "PATCH") || !strings.Contains(hd.Get("Access-Control-Allow-Headers"), "X-Fallback-Cookies") ||
				hd.Get("Access-Control-Expose-Headers") != "X-Fallback-Cookies" || hd.Get("Access-Control-Max-Age") != "86400" {
				t.Errorf("headers = %v", hd)
			}
			if len(h.svc.calls) != 0 {
				t.Errorf("a preflight reached the domain: %v", h.svc.calls)
			}
		}},
		{name: "preflight from another origin", req: request{method: "OPTIONS", path: "/v1/account", header: []string{"Origin", "https://evil.example", "Access-Control-Request-Method", "GET"}}, status: 204, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if rec.Header().Get("Access-Control-Allow-Origin") != "" || rec.Header().Get("Access-Control-Allow-Methods") != "" {
				t.Errorf("headers = %v", rec.Header())
			}
		}},
		{name: "credentialed read from the app", req: request{path: "/v1/account", as: "s1", header: []string{"Origin", appOrigin}}, status: 200, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if rec.Header().Get("Access-Control-Allow-Origin") != appOrigin || rec.Header().Get("Vary") != "Origin" {
				t.Errorf("headers = %v", rec.Header())
			}
		}},
	}, nil)
}

func TestHealthReadinessAndMetrics(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("# metrics\n")) })
	runRoutes(t, []routeCase{
		{name: "healthz", req: request{path: "/healthz"}, status: 200, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if rec.Body.String() != `{"status":"ok"}`+"\n" {
				t.Errorf("body = %s", rec.Body.String())
			}
		}},
		{name: "ready", req: request{path: "/readyz"}, status: 200, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if rec.Body.String() != `{"status":"ok"}`+"\n" {
				t.Errorf("body = %s", rec.Body.String())
			}
		}},
		{name: "degraded", req: request{path: "/readyz"}, setup: func(h *harness) {
			h.svc.readiness = bridge.Readiness{Ready: true, Providers: []bridge.ProviderHealth{{Provider: "corp", Status: "failing", Error: "discovery failed"}},
				Parked: map[string]string{"gh": "invalid_client"}}
		}, status: 200, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			m := jsonOf(t, rec)
			if m["status"] != "degraded" || m["providers_misconfigured"].(map[string]any)["gh"] != "invalid_client" || len(m["providers"].([]any)) != 1 {
				t.Errorf("body = %v", m)
			}
		}},
		{name: "unavailable", req: request{path: "/readyz"}, setup: func(h *harness) {
			h.svc.readiness = bridge.Readiness{Reason: "store unreachable"}
		}, status: 503, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if m := jsonOf(t, rec); m["status"] != "unavailable" || m["reason"] != "store unreachable" {
				t.Errorf("body = %v", m)
			}
		}},
		{name: "metrics", req: request{path: "/metrics"}, status: 200, check: func(t *testing.T, h *harness, rec *httptest.ResponseRecorder) {
			if rec.Body.String() != "# metrics\n" {
				t.Errorf("body = %s", rec.Body.String())
			}
		}},
	}, func(o *Options) { o.Metrics = metrics })
	// Without a metrics handler (an ops listener serves it) there is no route.
	if rec := newHarness(t, nil).do(request{path: "/metrics"}); rec.Code != 404 {
		t.Errorf("/metrics without a handler: %d", rec.Code)
	}
}

// Every request is counted by route pattern (never its path) and logged
// in one line without its path or query; its ID comes from a trusted proxy
// or is made here.
func TestObserve(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewRequestMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	h := newHarness(t, func(o *Options) {
		o.RequestMetrics, o.AccessLog = m, true
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	rec := h.do(request{path: "/v1/account/sessions/s2", as: "s1", header: []string{"X-Request-Id", "from-client"}})
	if id := rec.Header().Get("X-Request-Id"); len(id) != 32 || id == "from-client" {
		t.Errorf("request ID = %q: an untrusted peer's ID is replaced", id)
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("/v1/account/sessions/{id}", "GET", "200")); got != 1 {
		t.Errorf("counted %v", got)
	}
	if line := logs.String(); !strings.Contains(line, "route=/v1/account/sessions/{id}") || strings.Contains(line, "s2") || !strings.Contains(line, "status=200") {
		t.Errorf("access log = %q", line)
	}
	if n := testutil.CollectAndCount(m.duration); n != 1 {
		t.Errorf("%d duration series, want 1", n)
	}
	// Behind a trusted proxy its request ID is kept.
	h.srv.o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	if id := h.do(request{path: "/healthz", header: []string{"X-Request-Id", "proxy-42"}}).Header().Get("X-Request-Id"); id != "proxy-42" {
		t.Errorf("request ID behind a trusted proxy = %q", id)
	}
	if _, err := NewRequestMetrics(reg); err == nil {
		t.Errorf("registering twice succeeds")
	}
}

// A panic in a handler answers 500 JSON and is logged without the path.
func TestPanicIsAServerError(t *testing.T) {
	var logs bytes.Buffer
	h := newHarness(t, func(o *Options) { o.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	h.srv.mux.HandleFunc("GET /v1/boom/{handle}", func(http.ResponseWriter, *http.Request) { panic("boom") })
	rec := h.do(request{path: "/v1/boom/secret-handle"})
	if rec.Code != 500 || jsonOf(t, rec)["type"] != "general_server_error" {
		t.Errorf("%d %s", rec.Code, rec.Body.String())
	}
	if !strings.Contains(logs.String(), "panic serving request") || strings.Contains(logs.String(), "secret-handle") {
		t.Errorf("log = %s", logs.String())
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "tmpl")
	if err := os.MkdirAll(bad, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, "login.html"), []byte(`{{define "login.html"}}{{.Broken`), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		mutate func(*Options)
		want   string
	}{
		"no service":           {func(o *Options) { o.Service = nil }, "required"},
		"no keys":              {func(o *Options) { o.SessionKeys = nil }, "required"},
		"relative public URL":  {func(o *Options) { o.PublicURL = "/auth" }, "absolute"},
		"template that breaks": {func(o *Options) { o.Branding.TemplatesDir = bad }, "login.html"},
		"unreadable colour":    {func(o *Options) { o.Branding.PrimaryColor = "blue" }, "primary colour"},
	} {
		o := testOptions(t, testPublic)
		c.mutate(&o)
		if _, err := New(o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", name, err, c.want)
		}
	}
	if _, err := ParseTemplates(bad); err == nil || !strings.Contains(err.Error(), "branding.templates_dir") {
		t.Errorf("ParseTemplates: %v", err)
	}
}
