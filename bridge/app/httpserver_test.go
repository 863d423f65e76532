package app

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/internal/devissuer"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testissuer"
)

// serveWith serves h's handler on a loopback listener through
// NewHTTPServer, after tune adjusts the server, and returns its base URL.
func (h *harness) serveWith(t *testing.T, tune func(*http.Server)) string {
	t.Helper()
	srv := NewHTTPServer(h.app.Handler, slog.New(slog.NewTextHandler(h.logs, nil)))
	if srv.ReadTimeout <= 0 || srv.WriteTimeout <= 0 || srv.ReadHeaderTimeout <= 0 || srv.IdleTimeout <= 0 || srv.MaxHeaderBytes <= 0 {
		t.Fatalf("NewHTTPServer leaves a bound unset: %+v", srv)
	}
	tune(srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// TestSlowBodyIsCutOff: a client that announces a body and then sends a
// byte now and then is disconnected once the read bound passes, instead
// of holding its connection for as long as it likes.
func TestSlowBodyIsCutOff(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	base := h.serveWith(t, func(s *http.Server) { s.ReadTimeout = time.Second })
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = io.WriteString(conn, "POST /v1/account/sessions/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n{")
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		_, _ = io.Copy(io.Discard, bufio.NewReader(conn)) // returns when the server hangs up
	}()
	deadline := time.After(30 * time.Second) // a liveness bound, not a timing assertion
	for {
		select {
		case <-closed:
			return
		case <-deadline:
			t.Fatal("the slow client is still connected")
		case <-time.After(200 * time.Millisecond):
			_, _ = conn.Write([]byte(" "))
		}
	}
}

// TestPatchOutlivesTheWriteTimeout: PATCH of a session may wait for a
// token refresh longer than the server's global write bound; the handler
// extends its own deadline, so the client still gets its answer.
func TestPatchOutlivesTheWriteTimeout(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true, issuer: devissuer.Options{RotateRefreshTokens: true}})
	_, value := h.loggedIn(t)
	base := h.serveWith(t, func(s *http.Server) { s.WriteTimeout = 300 * time.Millisecond })
	h.iss.SetFaults(testissuer.Faults{TokenDelay: 1500 * time.Millisecond})
	req, _ := http.NewRequest("PATCH", base+"/v1/account/sessions/current", nil)
	req.Header.Set("X-Appwrite-Session", value)
	r := send(t, req)
	if r.StatusCode != http.StatusOK || r.json["providerAccessToken"] == "" {
		t.Fatalf("PATCH waiting for a slow refresh: HTTP %d %v", r.StatusCode, r.json)
	}
	// Any other route keeps the global bound (here: a slow GET is not
	// what the server waits for; a plain GET answers at once).
	req, _ = http.NewRequest("GET", base+"/v1/account", nil)
	req.Header.Set("X-Appwrite-Session", value)
	if r := send(t, req); r.StatusCode != http.StatusOK {
		t.Fatalf("GET: HTTP %d", r.StatusCode)
	}
}
