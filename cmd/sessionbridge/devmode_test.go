package main

import (
	"encoding/json"
	"io/fs"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDevModeServe(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServe(t, dir, nil)

	t.Run("log says development mode", func(t *testing.T) {
		if !strings.Contains(strings.ToLower(s.log.String()), "development mode") {
			t.Errorf("the log does not say development mode:\n%s", s.log.String())
		}
	})

	t.Run("data folder is private", func(t *testing.T) {
		data := filepath.Join(dir, "sessionbridge-data")
		st, err := os.Stat(data)
		if err != nil {
			t.Fatalf("data folder: %v", err)
		}
		if perm := st.Mode().Perm(); perm != 0o700 {
			t.Errorf("%s has mode %v, want 0700", data, perm)
		}
		files := 0
		err = filepath.WalkDir(data, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			switch {
			case d.IsDir() && p != data:
				if perm := info.Mode().Perm(); perm != 0o700 {
					t.Errorf("%s has mode %v, want 0700", p, perm)
				}
			case info.Mode().IsRegular():
				files++
				if perm := info.Mode().Perm(); perm != 0o600 {
					t.Errorf("%s has mode %v, want 0600", p, perm)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if files == 0 {
			t.Errorf("the data folder holds no file (no keys, no database)")
		}
	})

	t.Run("login page", func(t *testing.T) {
		resp, body := s.get("/", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET / = %d, want 200", resp.StatusCode)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("GET / Content-Type = %q, want text/html", ct)
		}
		if !strings.Contains(strings.ToLower(body), "development mode") {
			t.Errorf("the login page does not say development mode:\n%s", body)
		}
		if !strings.Contains(body, `id="login-dev"`) || !strings.Contains(body, "Sign in with Dev") {
			t.Errorf("the login page has no sign-in control for provider dev:\n%s", body)
		}
	})

	t.Run("ops endpoints", func(t *testing.T) {
		for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
			if resp, body := s.get(p, nil); resp.StatusCode != http.StatusOK {
				t.Errorf("GET %s = %d, want 200: %s", p, resp.StatusCode, body)
			}
		}
	})

	t.Run("account API needs a session", func(t *testing.T) {
		resp, body := s.get("/v1/account", http.Header{"Accept": {"application/json"}})
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "general_unauthorized_scope") {
			t.Errorf("GET /v1/account without a session = %d %s, want 401 general_unauthorized_scope", resp.StatusCode, body)
		}
		resp, _ = s.get("/account", nil)
		if resp.StatusCode/100 != 3 || resp.Header.Get("Location") != "/" {
			t.Errorf("GET /account without a session = %d Location %q, want a redirect to /", resp.StatusCode, resp.Header.Get("Location"))
		}
	})

	t.Run("callback URL follows --listen", func(t *testing.T) {
		// In development mode the public URL follows --listen, so the
		// redirect_uri the provider receives is on our random port.
		redirect := firstOffOriginRedirect(t, s, "/v1/account/sessions/oauth2/dev?success="+url.QueryEscape(s.url+"/account"))
		got := redirect.Query().Get("redirect_uri")
		want := s.url + "/v1/account/sessions/oauth2/callback/dev/default"
		if got != want {
			t.Errorf("redirect_uri = %q, want %q (full URL %s)", got, want, redirect.Redacted())
		}
		if redirect.Hostname() != "127.0.0.1" {
			t.Errorf("the dev provider is not on loopback: %s", redirect.Host)
		}
	})

	keys := readKeysFile(t, dir)
	s.stop()

	t.Run("keys survive a restart", func(t *testing.T) {
		s2 := startServe(t, dir, nil)
		if got := readKeysFile(t, dir); got != keys {
			t.Errorf("the generated keys changed on restart")
		}
		s2.stop()
	})
}

// readKeysFile returns the contents of every regular file in the data
// folder that is not the database, concatenated: the generated keys.
func readKeysFile(t *testing.T, dir string) string {
	t.Helper()
	data := filepath.Join(dir, "sessionbridge-data")
	entries, err := os.ReadDir(data)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range entries {
		if e.IsDir() || strings.Contains(e.Name(), ".db") {
			continue
		}
		c, err := os.ReadFile(filepath.Join(data, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(e.Name())
		b.Write(c)
	}
	if b.Len() == 0 {
		t.Fatalf("no key file in %s", data)
	}
	return b.String()
}

// firstOffOriginRedirect follows the redirects of path (with a cookie jar,
// as a browser would) while they stay on the bridge's origin, and returns
// the first one that leaves it.
func firstOffOriginRedirect(t *testing.T, s *server, path string) *url.URL {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse(s.url)
	var off *url.URL
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > 10 {
				return http.ErrUseLastResponse
			}
			if req.URL.Host != base.Host {
				off = req.URL
				return http.ErrUseLastResponse
			}
			return nil
		}}
	resp, err := client.Get(s.url + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	resp.Body.Close()
	if off == nil {
		t.Fatalf("GET %s ended at %d on the bridge, want a redirect to the provider", path, resp.StatusCode)
	}
	return off
}

// devLogin signs in through the dev issuer's "who are you" form with plain
// HTTP and returns the session value and the issuer's host.
func devLogin(t *testing.T, s *server, email string) (session, issuerHost string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	base, _ := url.Parse(s.url)
	client := &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Host != base.Host {
				return http.ErrUseLastResponse // stop at the provider
			}
			return nil
		}}
	resp, err := client.Get(s.url + "/v1/account/sessions/oauth2/dev?success=" + url.QueryEscape(s.url+"/account"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	authz, err := resp.Location()
	if err != nil || authz.Path != "/authorize" {
		t.Fatalf("login start: HTTP %d %v", resp.StatusCode, authz)
	}
	form := authz.Query()
	form.Set("email", email)
	form.Set("name", "Ada")
	form.Set("action", "approve")
	client.CheckRedirect = func(req *http.Request, via []*http.Request) error { return nil }
	resp, err = client.PostForm("http://"+authz.Host+"/authorize", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/account" || resp.StatusCode != 200 {
		t.Fatalf("login ended at %s with HTTP %d", resp.Request.URL.Path, resp.StatusCode)
	}
	for _, c := range jar.Cookies(base) {
		if c.Name == sessionCookie {
			return c.Value, authz.Host
		}
	}
	t.Fatal("no session cookie after the dev login")
	return "", ""
}

// currentSession reads the session a value authenticates: HTTP status and body.
func currentSession(t *testing.T, s *server, value string) (int, map[string]any) {
	t.Helper()
	resp, body := s.get("/v1/account/sessions/current", http.Header{"X-Appwrite-Session": {value}, "Accept": {"application/json"}})
	var out map[string]any
	_ = json.Unmarshal([]byte(body), &out)
	return resp.StatusCode, out
}

// TestDevModeSessionSurvivesRestart: development mode promises that
// sessions survive a restart. Log in, restart, wait past a token lifetime:
// the session is still there, with a refreshed token, from the dev issuer
// on the same port. When that port is taken, the server says so and starts
// afresh.
func TestDevModeSessionSurvivesRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := []string{"SESSIONBRIDGE_DEV_TOKEN_TTL=3s"}
	s := startServe(t, dir, env)
	value, issHost := devLogin(t, s, "ada@example.com")
	status, before := currentSession(t, s, value)
	if status != 200 {
		t.Fatalf("session after login: %d", status)
	}
	s.stop()

	s2 := startServe(t, dir, env)
	var now map[string]any
	deadline := time.Now().Add(45 * time.Second) // liveness bound: 3s tokens refresh every couple of seconds
	for {
		status, now = currentSession(t, s2, value)
		if status != 200 {
			t.Fatalf("the session ended after a restart: HTTP %d %v\n%s", status, now, s2.log.String())
		}
		if now["providerAccessToken"] != before["providerAccessToken"] && now["providerAccessTokenExpiry"].(string) > before["providerAccessTokenExpiry"].(string) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the token was never refreshed after the restart: %v\n%s", now["providerAccessTokenExpiry"], s2.log.String())
		}
		time.Sleep(500 * time.Millisecond)
	}
	// Past another token lifetime, still there.
	time.Sleep(4 * time.Second)
	if status, _ := currentSession(t, s2, value); status != 200 {
		t.Fatalf("the session ended later: %d", status)
	}
	if strings.Contains(s2.log.String(), "is taken") {
		t.Fatal("the issuer did not get its port back")
	}
	s2.stop()

	t.Run("port taken", func(t *testing.T) {
		// Hold the issuer's port (if another test took it meanwhile, it
		// is just as taken).
		if ln, err := net.Listen("tcp", issHost); err == nil {
			defer ln.Close()
		}
		s3 := startServe(t, dir, env)
		defer s3.stop()
		if !strings.Contains(s3.log.String(), "is taken by another program; starting it afresh") {
			t.Fatalf("no plain message about the taken port:\n%s", s3.log.String())
		}
		if _, host := devLogin(t, s3, "bob@example.com"); host == issHost {
			t.Fatal("the issuer claims the taken port")
		}
	})
}
