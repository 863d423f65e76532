package httpapi

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge"
	"github.com/sessionbridge/sessionbridge/bridge/config"
	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// The route tests run the real Server (routing, cookies, CORS, CSRF,
// error mapping, pages) against fakeService.

const (
	testPublic  = "http://127.0.0.1:8080"
	appOrigin   = "https://app.example"
	keyAll      = "key-all-secret"  // users.read and users.write
	keyReadOnly = "key-read-secret" // users.read
)

// testAllowlist allows the bridge's own origin and https://app.example.
type testAllowlist struct{}

func (testAllowlist) AllowsURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme+"://"+u.Host == testPublic || u.Scheme+"://"+u.Host == appOrigin)
}
func (testAllowlist) AllowsOrigin(origin string) bool { return origin == appOrigin }

// harness is a Server over a fakeService holding two users: u1 (sessions
// s1 and s2, identity i1) and u2 (session s3, identity i2). Requests made
// "as" s1 carry s1's session cookie.
type harness struct {
	t   *testing.T
	now time.Time
	svc *fakeService
	srv *Server
}

func newHarness(t *testing.T, mutate func(*Options)) *harness {
	t.Helper()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	f := newFakeService(now)
	f.addUser(store.User{ID: "u1", Name: "Ada Lovelace", Email: "ada@example.com", EmailVerified: true, Prefs: `{"theme":"dark","n":1.50}`})
	f.addUser(store.User{ID: "u2", Name: "Bob", Email: "bob@example.com"})
	f.addSession("s1", "u1", "gh")
	f.addSession("s2", "u1", "corp")
	f.addSession("s3", "u2", "gh")
	f.identities = []bridge.IdentityTokens{
		{Identity: store.Identity{ID: "i1", UserID: "u1", Provider: "gh", ProviderUID: "uid-u1", Email: "ada@example.com"}, AccessToken: "at1", RefreshToken: "rt1", AccessTokenExpiry: now.Add(time.Hour)},
		{Identity: store.Identity{ID: "i2", UserID: "u2", Provider: "corp", ProviderUID: "uid-u2"}, AccessToken: "at2", RefreshToken: "rt2"},
	}
	o := Options{Service: f, Project: "default", PublicURL: testPublic, Allowlist: testAllowlist{},
		SessionKeys: [][]byte{[]byte("0123456789abcdef0123456789abcdef")},
		APIKeys: []config.APIKey{
			{ID: "all", Secret: keyAll, Scopes: []string{config.ScopeUsersRead, config.ScopeUsersWrite}},
			{ID: "read", Secret: keyReadOnly, Scopes: []string{config.ScopeUsersRead}},
		},
		Providers: []ProviderLink{{Key: "gh", DisplayName: "GitHub", Type: "github"}, {Key: "corp", DisplayName: "Corp SSO", Type: "oidc"}},
		Now:       func() time.Time { return now },
	}
	if mutate != nil {
		mutate(&o)
	}
	srv, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, now: now, svc: f, srv: srv}
}

// credential is the opaque value of a stored session's credential.
func (h *harness) credential(sessionID string) string {
	h.t.Helper()
	v, err := h.srv.codec.encode(bridge.Credential{SessionID: sessionID, Secret: h.svc.secrets[sessionID]})
	if err != nil {
		h.t.Fatal(err)
	}
	return v
}

// request describes one request to the harness's server.
type request struct {
	method, path, body string
	as                 string   // a session ID: its cookie is sent
	key                string   // X-Appwrite-Key
	header             []string // name, value pairs
	cookies            []*http.Cookie
}

func (h *harness) do(q request) *httptest.ResponseRecorder {
	h.t.Helper()
	if q.method == "" {
		q.method = http.MethodGet
	}
	var body io.Reader
	if q.body != "" {
		body = strings.NewReader(q.body)
	}
	r := httptest.NewRequest(q.method, q.path, body)
	r.RemoteAddr = "192.0.2.10:5555"
	if q.body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if q.as != "" {
		r.AddCookie(&http.Cookie{Name: "a_session_default", Value: h.credential(q.as)})
	}
	if q.key != "" {
		r.Header.Set("X-Appwrite-Key", q.key)
	}
	for i := 0; i+1 < len(q.header); i += 2 {
		r.Header.Set(q.header[i], q.header[i+1])
	}
	for _, c := range q.cookies {
		r.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, r)
	return rec
}

// jsonOf decodes a JSON response body.
func jsonOf(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, rec.Body.String())
	}
	return m
}

// cookie returns the Set-Cookie of name in a response (nil when none).
func cookie(rec *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, c := range rec.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// cleared reports whether the response deletes the cookie name.
func cleared(rec *httptest.ResponseRecorder, name string) bool {
	c := cookie(rec, name)
	return c != nil && c.Value == "" && c.MaxAge < 0
}

// routeCase is one row of a route table: a request, the status and
// Appwrite error type it must get, and further checks.
type routeCase struct {
	name   string
	req    request
	setup  func(h *harness)
	status int
	errTyp string // the error body's type ("" for a success)
	check  func(t *testing.T, h *harness, rec *httptest.ResponseRecorder)
}

// runRoutes runs each case on a fresh harness.
func runRoutes(t *testing.T, cases []routeCase, mutate func(*Options)) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, mutate)
			if c.setup != nil {
				c.setup(h)
			}
			rec := h.do(c.req)
			if rec.Code != c.status {
				t.Fatalf("%s %s: HTTP %d, want %d\n%s", c.req.method, c.req.path, rec.Code, c.status, rec.Body.String())
			}
			if c.errTyp != "" {
				e := jsonOf(t, rec)
				if e["type"] != c.errTyp || e["code"] != float64(c.status) || e["version"] != appwriteVersion || e["message"] == "" {
					t.Fatalf("error body = %v, want type %s", e, c.errTyp)
				}
			}
			if c.check != nil {
				c.check(t, h, rec)
			}
		})
	}
}
