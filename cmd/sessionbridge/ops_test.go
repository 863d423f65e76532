package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/internal/testenv"
)

// getURL fetches a URL and returns its status and body.
func getURL(t *testing.T, u string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
	}
	return resp, b.String()
}

func TestServeOpsListener(t *testing.T) {
	t.Parallel()
	opsAddr := testenv.FreeAddr(t)
	cfg := writeFile(t, "ops.yaml", minimalConfig("127.0.0.1:8080")+"ops:\n  listen: "+opsAddr+"\nlog:\n  format: json\ntrusted_proxies: [127.0.0.1]\n")
	s := startServe(t, t.TempDir(), exampleEnv(t), "--config", cfg)
	ops := "http://" + opsAddr

	if resp, _ := s.get("/metrics", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("public /metrics = %d with ops.listen set, want 404", resp.StatusCode)
	}
	if resp, _ := s.get("/debug/pprof/", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("public /debug/pprof/ = %d, want 404", resp.StatusCode)
	}
	for _, path := range []string{"/healthz", "/readyz", "/debug/pprof/", "/debug/pprof/cmdline"} {
		if resp, body := getURL(t, ops+path, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("ops %s = %d, want 200: %.200s", path, resp.StatusCode, body)
		}
	}
	resp, _ := s.get("/healthz", http.Header{"X-Request-Id": {"trace-abc-1"}})
	if got := resp.Header.Get("X-Request-Id"); got != "trace-abc-1" {
		t.Errorf("X-Request-Id echoed as %q", got)
	}
	_, metrics := getURL(t, ops+"/metrics", nil)
	for _, want := range []string{
		`sessionbridge_http_requests_total{code="200",method="GET",route="/healthz"}`,
		`sessionbridge_http_requests_total{code="404",method="GET",route="/"}`,
		`sessionbridge_build_info{`,
		`sessionbridge_store_operation_duration_seconds_bucket{operation="ping"`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("ops /metrics lacks %s", want)
		}
	}

	// The access log is JSON with the duration in seconds, and so is
	// every other duration (a Go duration string, not nanoseconds).
	var found bool
	for _, line := range strings.Split(s.log.String(), "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %s", line)
		}
		if rec["msg"] == "http request" && rec["request_id"] == "trace-abc-1" {
			found = true
			if rec["route"] != "/healthz" || rec["status"] != float64(200) || rec["method"] != "GET" {
				t.Errorf("access log line = %v", rec)
			}
			if d, ok := rec["duration"].(float64); !ok || d <= 0 || d > 60 {
				t.Errorf("access log duration = %v, want seconds as a number", rec["duration"])
			}
		}
		if g, ok := rec["grace"]; ok {
			if _, isString := g.(string); !isString {
				t.Errorf("grace logged as %v, want a duration string", g)
			}
		}
	}
	if !found {
		t.Errorf("no JSON access log line with the request ID:\n%s", s.log.String())
	}
	s.stop()
	if !strings.Contains(s.log.String(), `"grace":"45s"`) {
		t.Errorf("the shutdown line does not carry grace as a duration string:\n%s", s.log.String())
	}
}

// The refresh daemon keeps exactly its three routes: no pprof.
func TestRefreshDaemonRoutes(t *testing.T) {
	t.Parallel()
	addr := testenv.FreeAddr(t)
	cfg := writeFile(t, "refresh.yaml", minimalConfig("127.0.0.1:8080")+"refresh:\n  listen: "+addr+"\n")
	cmd := exec.Command(bridgeBin.Path(t), "refresh", "--config", cfg)
	cmd.Dir = t.TempDir()
	cmd.Env = append(baseEnv(), exampleEnv(t)...)
	testenv.StartHealthy(t, "refresh daemon", cmd, "http://"+addr, startBound)
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200, "/debug/pprof/": 404, "/v1/account": 404} {
		if resp, _ := getURL(t, "http://"+addr+path, nil); resp.StatusCode != want {
			t.Errorf("refresh daemon %s = %d, want %d", path, resp.StatusCode, want)
		}
	}
}

func TestServeLogFlags(t *testing.T) {
	t.Parallel()
	r := runCLI(t, t.TempDir(), nil, "serve", "--log-format", "yaml")
	if r.code != 2 || !strings.Contains(r.stderr, "--log-format") {
		t.Fatalf("serve --log-format yaml: exit %d, want 2\n%s", r.code, r.stderr)
	}
	// Development mode with the format from the environment.
	s := startServe(t, t.TempDir(), []string{"SESSIONBRIDGE_LOG_FORMAT=json"}, "--log-level", "debug")
	first := strings.SplitN(strings.TrimSpace(s.log.String()), "\n", 2)[0]
	if !strings.HasPrefix(first, "{") || !strings.Contains(first, "DEVELOPMENT MODE") {
		t.Errorf("development mode did not log JSON: %s", first)
	}
}
