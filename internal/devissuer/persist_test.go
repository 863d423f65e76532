package devissuer

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessionbridge/sessionbridge/internal/testenv/testlogin"
)

// TestStateSurvivesRestart: with a StateFile, a new issuer on the same
// file has the same URL and key and honours the grants of the old one:
// the current refresh token works, a superseded one is a replay. The file
// is 0600 and holds no token.
func TestStateSurvivesRestart(t *testing.T) {
	file := filepath.Join(t.TempDir(), "dev-issuer.json")
	h := newHarness(t, Options{StateFile: file, RotateRefreshTokens: true, DetectReuse: true})
	tok := h.MustLogin("n1")
	r := h.Refresh(tok.RefreshToken)
	if r.Status != 200 {
		t.Fatalf("refresh: %d %s", r.Status, r.Raw)
	}
	latest, access := r.Str("refresh_token"), r.Str("access_token")
	kid := h.iss.kid
	if err := h.iss.Close(); err != nil {
		t.Fatal(err)
	}

	st, err := os.Stat(file)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v, mode %v", err, st.Mode().Perm())
	}
	data, _ := os.ReadFile(file)
	for _, secret := range []string{tok.RefreshToken, latest, access} {
		if strings.Contains(string(data), secret) {
			t.Fatal("the state file holds a token")
		}
	}

	iss2, err := New(Options{ClientID: testlogin.ClientID, ClientSecret: testlogin.ClientSecret, StateFile: file, RotateRefreshTokens: true, DetectReuse: true})
	if err != nil {
		t.Fatal(err)
	}
	if iss2.URL() != h.URL || iss2.kid != kid {
		t.Fatalf("restored URL %q (want %q), same key: %v", iss2.URL(), h.URL, iss2.kid == kid)
	}
	u, _ := url.Parse(h.URL)
	if _, err := iss2.Start(u.Host); err != nil {
		t.Fatalf("start on the saved port: %v", err)
	}
	t.Cleanup(func() { _ = iss2.Close() })
	h2 := *h
	h2.iss = iss2
	if !iss2.AccessTokenValid(access) {
		t.Error("the access token was forgotten")
	}
	if r := h2.Refresh(latest); r.Status != 200 {
		t.Fatalf("refresh with the current token after a restart: %d %s", r.Status, r.Raw)
	}
	testlogin.WantError(t, h2.Refresh(tok.RefreshToken), 400, "invalid_grant")
}

// TestResetStateForgetsGrants: a fresh start forgets every grant.
func TestResetStateForgetsGrants(t *testing.T) {
	h := newHarness(t, Options{StateFile: filepath.Join(t.TempDir(), "s.json"), RotateRefreshTokens: true})
	tok := h.MustLogin("n1")
	h.iss.ResetState()
	testlogin.WantError(t, h.Refresh(tok.RefreshToken), 400, "invalid_grant")
}
