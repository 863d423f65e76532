package app

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/config"
	"github.com/sessionbridge/sessionbridge/internal/devissuer"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testissuer"
	"github.com/sessionbridge/sessionbridge/providers/oidc"
)

// readyz fetches /readyz from handler h's server.
func (h *harness) readyz(t *testing.T) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(h.srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("/readyz body: %v", err)
	}
	return resp.StatusCode, body
}

// A login that arrives while its provider's first discovery is still
// running waits for it instead of failing, and /readyz says 503 meanwhile.
func TestLoginWaitsForFirstDiscovery(t *testing.T) {
	h := newHarness(t, harnessOptions{faults: &testissuer.Faults{DiscoveryDelay: 3 * time.Second}})
	status, body := h.readyz(t)
	if status != http.StatusServiceUnavailable || body["reason"] != "provider discovery pending" {
		t.Fatalf("/readyz during the first discovery: %d %v, want 503 provider discovery pending", status, body)
	}
	if loc, _ := h.login(t, h.browser()).Location(); loc == nil || loc.Path != "/ok" {
		t.Fatalf("a login during the first discovery ended at %v, want the success URL", loc)
	}
	if status, body := h.readyz(t); status != http.StatusOK || body["status"] != "ok" {
		t.Fatalf("/readyz after discovery: %d %v, want 200 ok", status, body)
	}
}

// One provider that cannot be discovered does not make the process
// unready: it is listed as failing with 200.
func TestReadyzListsFailingProvider(t *testing.T) {
	down := testissuer.Start(t, devissuer.Options{ClientID: "c2", ClientSecret: "s2-secret-value"})
	down.SetFaults(testissuer.Faults{DiscoveryDown: true})
	h := newHarness(t, harnessOptions{mutateConf: func(c *config.Config) {
		c.Providers["flaky"] = config.Provider{Type: "oidc", Config: &oidc.Config{Issuer: down.URL(), ClientID: "c2", ClientSecret: "s2-secret-value"}}
		c.ProviderOrder = append(c.ProviderOrder, "flaky")
	}})
	var body map[string]any
	waitFor(t, 20*time.Second, "readiness after the first discovery attempts", func() bool {
		var status int
		status, body = h.readyz(t)
		return status == http.StatusOK
	})
	list, _ := body["providers"].([]any)
	if body["status"] != "degraded" || len(list) != 1 {
		t.Fatalf("/readyz = %v, want status degraded listing one provider", body)
	}
	p := list[0].(map[string]any)
	if p["provider"] != "flaky" || p["status"] != "failing" || !strings.Contains(p["error"].(string), "503") {
		t.Errorf("provider entry = %v, want flaky failing with the HTTP status", p)
	}
}

// scrape returns the text of /metrics.
func (h *harness) scrape(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(h.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: HTTP %d", resp.StatusCode)
	}
	return string(b)
}

// wantSample asserts a sample line: name{labels} value, labels in the
// exposition's (sorted) order.
func wantSample(t *testing.T, metrics, series, value string) {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` ` + regexp.QuoteMeta(value) + `$`)
	if !re.MatchString(metrics) {
		var near []string
		name, _, _ := strings.Cut(series, "{")
		for _, l := range strings.Split(metrics, "\n") {
			if strings.HasPrefix(l, name) {
				near = append(near, l)
			}
		}
		t.Errorf("no sample %s %s; have:\n%s", series, value, strings.Join(near, "\n"))
	}
}

func TestLoginAndHTTPMetricsAndAccessLog(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	b := h.browser()
	cb := h.callbackURL(t, b) // stops at the callback: its code and state are known
	code, state := cb.Query().Get("code"), cb.Query().Get("state")
	resp := b.get(t, cb.String())
	if loc, _ := resp.Location(); loc == nil || loc.Path != "/ok" {
		t.Fatalf("login ended at %v", loc)
	}
	cookie := h.sessionCookie(t, b)
	_, user := h.api(t, "GET", "/v1/account", cookie, nil)
	userID, _ := user["$id"].(string)
	// A replayed callback from another browser fails: its state is not
	// that browser's (and was used).
	if resp := h.browser().get(t, cb.String()); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("replayed callback: HTTP %d, want 400", resp.StatusCode)
	}

	m := h.scrape(t)
	wantSample(t, m, `sessionbridge_logins_started_total{provider="corp"}`, "1")
	wantSample(t, m, `sessionbridge_logins_completed_total{provider="corp"}`, "1")
	wantSample(t, m, `sessionbridge_logins_failed_total{provider="corp",type="state_invalid"}`, "1")
	wantSample(t, m, `sessionbridge_sessions_created_total{provider="corp"}`, "1")
	wantSample(t, m, `sessionbridge_sessions_live{provider="corp"}`, "1")
	wantSample(t, m, `sessionbridge_grants_live{provider="corp"}`, "1")
	wantSample(t, m, `sessionbridge_http_requests_total{code="302",method="GET",route="/v1/account/sessions/oauth2/{provider}"}`, "1")
	wantSample(t, m, `sessionbridge_http_requests_total{code="200",method="GET",route="/v1/account"}`, "1")
	wantSample(t, m, `sessionbridge_http_request_duration_seconds_count{method="GET",route="/v1/account"}`, "1")
	if !regexp.MustCompile(`(?m)^sessionbridge_store_operation_duration_seconds_count\{operation="create_login_session"\} [1-9]`).MatchString(m) {
		t.Errorf("no store latency sample for create_login_session")
	}
	for what, v := range map[string]string{"user ID": userID, "client IP": "127.0.0.1", "session cookie": cookie, "code": code, "state": state} {
		if v != "" && strings.Contains(m, v) {
			t.Errorf("/metrics contains the %s", what)
		}
	}

	logs := h.logs.String()
	access := regexp.MustCompile(`(?m)^.*msg="http request" method=GET route=/v1/account/sessions/oauth2/callback/\{provider\}/\{project\} status=30[23] duration=[0-9.e-]+ bytes=\d+ ip=127\.0\.0\.1 request_id=[0-9a-f]{32}$`)
	if !access.MatchString(logs) {
		t.Errorf("no access log line for the callback:\n%s", logs)
	}
	for what, v := range map[string]string{"session cookie": cookie, "code": code, "state": state, "client secret": "bridge-secret-value"} {
		if v == "" {
			t.Fatalf("%s not collected", what)
		}
		if strings.Contains(logs, v) {
			t.Errorf("the log contains the %s", what)
		}
	}
}

func TestRequestID(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true, mutateConf: func(c *config.Config) {
		c.TrustedProxies = []string{"127.0.0.1"} // the test client plays the reverse proxy
	}})
	get := func(id string) string {
		req, _ := http.NewRequest("GET", h.srv.URL+"/healthz", nil)
		if id != "" {
			req.Header.Set("X-Request-Id", id)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("X-Request-Id")
	}
	// The test client is a trusted proxy: its ID is kept.
	if got := get("proxy-id-123"); got != "proxy-id-123" {
		t.Errorf("X-Request-Id from a trusted proxy echoed as %q", got)
	}
	if got := get(""); !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(got) {
		t.Errorf("generated X-Request-Id = %q", got)
	}
	if got := get("bad id\" injected=1"); got == "" || strings.Contains(got, " ") {
		t.Errorf("a malformed X-Request-Id was echoed: %q", got)
	}
	if !strings.Contains(h.logs.String(), "request_id=proxy-id-123") {
		t.Errorf("the access log does not carry the request ID")
	}
}

// The access log can be switched off.
func TestAccessLogOff(t *testing.T) {
	off := false
	h := newHarness(t, harnessOptions{noRefresh: true, mutateConf: func(c *config.Config) { c.Log.Access = &off }})
	if _, err := http.Get(h.srv.URL + "/healthz"); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(h.logs.String(), `msg="http request"`) {
		t.Errorf("log.access: false still logs requests")
	}
}

// The request ID of an untrusted peer is replaced (checked on the
// handler directly, with a non-loopback peer address).
func TestRequestIDFromUntrustedPeerReplaced(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	req, _ := http.NewRequest("GET", "/healthz", nil)
	req.RemoteAddr = "203.0.113.9:4567"
	req.Header.Set("X-Request-Id", "forged-by-client")
	rec := &headerRecorder{header: http.Header{}}
	h.app.Handler.ServeHTTP(rec, req)
	if got := rec.header.Get("X-Request-Id"); got == "forged-by-client" || got == "" {
		t.Errorf("untrusted X-Request-Id kept: %q", got)
	}
}

type headerRecorder struct {
	header http.Header
	code   int
}

func (r *headerRecorder) Header() http.Header         { return r.header }
func (r *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *headerRecorder) WriteHeader(code int)        { r.code = code }

// A browser navigation (no bind hop) during the first discovery waits
// for it too, and goes straight to the provider.
func TestNavigationLoginWaitsForFirstDiscovery(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true, faults: &testissuer.Faults{DiscoveryDelay: 3 * time.Second}})
	if status, _ := h.readyz(t); status != http.StatusServiceUnavailable {
		t.Fatalf("/readyz during the first discovery: %d, want 503", status)
	}
	req, _ := http.NewRequest("GET", h.startURL(appOrigin+"/ok", appOrigin+"/fail"), nil)
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	req.Header.Set("Sec-Fetch-Dest", "document")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := resp.Location()
	if loc == nil || !strings.HasPrefix(loc.String(), h.iss.URL()+"/authorize") {
		t.Fatalf("navigation login during the first discovery: HTTP %d to %v, want the provider's authorize endpoint", resp.StatusCode, loc)
	}
	if !strings.Contains(h.scrape(t), `sessionbridge_logins_started_total{provider="corp"} 1`) {
		t.Errorf("the navigation login was not counted as started")
	}
}
