package app

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite" // raw reads of the database file

	"github.com/sessionbridge/sessionbridge/bridge/config"
	"github.com/sessionbridge/sessionbridge/internal/devissuer"
	"github.com/sessionbridge/sessionbridge/internal/testenv"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testissuer"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testlogin"
	"github.com/sessionbridge/sessionbridge/providers/oidc"
)

// appOrigin is an allow-listed app origin that is never dialled: clients
// stop at redirects to it.
const appOrigin = "http://app.example"

type harness struct {
	t      testing.TB
	iss    *testissuer.Issuer
	app    *App
	srv    *httptest.Server
	cfg    *config.Config
	dbPath string
	logs   *testenv.Buffer
	cancel context.CancelFunc
	done   chan struct{}
}

type harnessOptions struct {
	issuer     devissuer.Options
	beforeExp  time.Duration
	noRefresh  bool
	mutateConf func(*config.Config)
	app        Options
	// faults are set on the issuer before the bridge starts (its first
	// discovery already sees them).
	faults *testissuer.Faults
}

// newHarness starts a fake OIDC provider and a fully wired bridge on real
// loopback HTTP with a fresh SQLite file.
func newHarness(t testing.TB, o harnessOptions) *harness {
	t.Helper()
	h := &harness{t: t, logs: &testenv.Buffer{}}
	srv := httptest.NewUnstartedServer(nil)
	h.srv = srv
	pub := "http://" + srv.Listener.Addr().String()

	io := o.issuer
	io.ClientID, io.ClientSecret = "bridge-client", "bridge-secret-value"
	io.SigningKey = testenv.SigningKey()
	if io.AutoApprove == nil {
		io.AutoApprove = &devissuer.User{Email: "ada@example.com", Name: "Ada Lovelace", EmailVerified: true}
	}
	h.iss = testissuer.Start(t, io)
	issURL := h.iss.URL()
	if o.faults != nil {
		h.iss.SetFaults(*o.faults)
	}

	h.dbPath = filepath.Join(t.TempDir(), "bridge.db")
	cfg := &config.Config{
		Listen: srv.Listener.Addr().String(), PublicURL: pub, Project: "default",
		RedirectAllowlist: []string{appOrigin},
		Store:             config.Store{Driver: "sqlite", DSN: h.dbPath},
		Secrets:           config.Secrets{SessionKeys: []string{testenv.RandomBase64(32)}, TokenKeys: []string{testenv.RandomBase64(32)}},
		APIKeys:           []config.APIKey{{ID: "backend", Secret: "api-key-secret-0123456789", Scopes: []string{"sessions.read", "sessions.write", "users.read", "users.write"}}},
		Refresh:           config.Refresh{BeforeExpiry: o.beforeExp},
		Providers: map[string]config.Provider{"corp": {
			Type: "oidc", Config: &oidc.Config{Issuer: issURL, ClientID: io.ClientID, ClientSecret: io.ClientSecret}, DisplayName: "Corp SSO",
		}},
		ProviderOrder: []string{"corp"},
	}
	if o.mutateConf != nil {
		o.mutateConf(cfg)
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	h.cfg = cfg
	log := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	a, err := Build(ctx, cfg, log, o.app)
	if err != nil {
		t.Fatal(err)
	}
	h.app = a
	srv.Config.Handler = a.Handler
	srv.Start()
	h.done = make(chan struct{})
	if o.noRefresh {
		close(h.done)
	} else {
		go func() { defer close(h.done); _ = a.Refresher.Run(ctx) }()
	}
	t.Cleanup(h.close)
	return h
}

func (h *harness) close() {
	h.cancel()
	<-h.done
	h.srv.Close()
	h.app.Close()
}

// browser is the shared test browser (a cookie jar; redirects to the app
// origin end a request) with t-failing helpers.
type browser struct{ *testlogin.Browser }

func (h *harness) browser() *browser {
	return &browser{testlogin.NewBrowser(nil, "app.example")}
}

func (b *browser) get(t testing.TB, u string) *http.Response {
	t.Helper()
	resp, err := b.Get(context.Background(), u)
	if err != nil {
		t.Fatalf("GET %s: %v", redactURL(u), err)
	}
	return resp
}

func redactURL(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i] + "?…"
	}
	return u
}

// startURL is the login start route for provider corp.
func (h *harness) startURL(success, failure string) string {
	q := url.Values{}
	if success != "" {
		q.Set("success", success)
	}
	if failure != "" {
		q.Set("failure", failure)
	}
	return h.srv.URL + "/v1/account/sessions/oauth2/corp?" + q.Encode()
}

// corpLogin is a login at provider corp that returns to the app's /ok or
// /fail.
func (h *harness) corpLogin() testlogin.Login {
	return testlogin.Login{BaseURL: h.srv.URL, Provider: "corp", Issuer: h.iss.URL(),
		Success: appOrigin + "/ok", Failure: appOrigin + "/fail"}
}

// login runs a whole login (the shared login driver) and returns the final
// redirect to the app.
func (h *harness) login(t testing.TB, b *browser) *http.Response {
	t.Helper()
	res, err := b.Login(context.Background(), h.corpLogin())
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	if res.Response.StatusCode != http.StatusFound && res.Response.StatusCode != http.StatusSeeOther {
		t.Fatalf("login ended with HTTP %d, want a redirect to the app", res.Response.StatusCode)
	}
	return res.Response
}

// sessionCookie returns the session cookie the browser holds.
func (h *harness) sessionCookie(t testing.TB, b *browser) string {
	t.Helper()
	return b.Cookie(h.srv.URL, "a_session_default")
}

// api calls the Account API with a session value in X-Appwrite-Session.
func (h *harness) api(t testing.TB, method, path, session string, body io.Reader) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, h.srv.URL+path, body)
	if session != "" {
		req.Header.Set("X-Appwrite-Session", session)
	}
	req.Header.Set("X-Appwrite-Project", "default")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(resp.Body)
	if len(data) > 0 {
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatalf("%s %s: HTTP %d, body is not JSON: %.200s", method, path, resp.StatusCode, data)
		}
	}
	return resp.StatusCode, out
}

// countSessions counts stored sessions straight from the store.
func (h *harness) countSessions(t testing.TB) int { return h.countRows(t, "sessions") }

// count runs a COUNT(*) query straight on the SQLite file, past the
// store, so a test sees what is really stored.
func (h *harness) count(t testing.TB, query string) int {
	t.Helper()
	db, err := sql.Open("sqlite", h.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
