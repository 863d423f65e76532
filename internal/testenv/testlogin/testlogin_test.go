package testlogin_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"golang.org/x/oauth2"

	"github.com/sessionbridge/sessionbridge/internal/devissuer"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testissuer"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testlogin"
)

const redirect = "http://127.0.0.1:9/callback"

// authURL is a valid authorization request to iss.
func authURL(iss *testissuer.Issuer) string {
	cfg := oauth2.Config{ClientID: "c", Endpoint: oauth2.Endpoint{AuthURL: iss.URL() + "/authorize"},
		RedirectURL: redirect, Scopes: []string{"openid", "email"}}
	return cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
}

// TestAuthorizeChoices: a GET for an issuer that approves by itself, the
// form's answer for one in form mode (approve or deny), and an error for
// a form left unanswered.
func TestAuthorizeChoices(t *testing.T) {
	ctx := context.Background()
	auto := testissuer.Start(t, devissuer.Options{ClientID: "c", ClientSecret: "s", AutoApprove: &devissuer.User{Email: "a@example.com"}})
	form := testissuer.Start(t, devissuer.Options{ClientID: "c", ClientSecret: "s"})
	ada := &testlogin.User{Email: "ada@example.com", Name: "Ada", EmailVerified: true}
	for name, tc := range map[string]struct {
		iss       *testissuer.Issuer
		choice    testlogin.Choice
		wantParam string
	}{
		"auto approve": {auto, testlogin.Choice{}, "code"},
		"form approve": {form, testlogin.Choice{User: ada}, "code"},
		"form deny":    {form, testlogin.Choice{Deny: true}, "error"},
	} {
		loc, err := testlogin.Authorize(ctx, nil, authURL(tc.iss), tc.choice)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if q := loc.Query(); q.Get(tc.wantParam) == "" || q.Get("state") != "st" || loc.Host != "127.0.0.1:9" {
			t.Errorf("%s: redirect %v, want %s and the state", name, loc.Redacted(), tc.wantParam)
		}
	}
	if form.Stats().Logins != 1 {
		t.Errorf("form logins = %d, want 1 (Ada)", form.Stats().Logins)
	}
	if _, err := testlogin.Authorize(ctx, nil, authURL(form), testlogin.Choice{}); err == nil {
		t.Error("an unanswered form (HTTP 200) passed for a redirect")
	}
}

// TestLoginHops runs Login against a stand-in bridge (start → bind hop →
// provider → callback → app): the bridge's hops are followed with the
// cookie jar, the provider is answered, the app is never dialled, and
// UntilCallback stops before the callback.
func TestLoginHops(t *testing.T) {
	iss := testissuer.Start(t, devissuer.Options{ClientID: "c", ClientSecret: "s", AutoApprove: &devissuer.User{Email: "a@example.com"}})
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	mux.HandleFunc("GET /v1/account/sessions/oauth2/corp", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("success") != "http://app.example/ok" || r.URL.Query()["scopes[]"][0] != "extra" {
			http.Error(w, "bad start", http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, "/bind", http.StatusFound)
	})
	mux.HandleFunc("GET /bind", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "flow", Value: "f1", Path: "/"})
		cfg := oauth2.Config{ClientID: "c", Endpoint: oauth2.Endpoint{AuthURL: iss.URL() + "/authorize"}, RedirectURL: srv.URL + "/callback"}
		http.Redirect(w, r, cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())), http.StatusFound)
	})
	callbacks := 0
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		callbacks++
		if c, err := r.Cookie("flow"); err != nil || c.Value != "f1" || r.URL.Query().Get("code") == "" {
			http.Redirect(w, r, "http://app.example/fail", http.StatusFound)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "s1", Path: "/"})
		http.Redirect(w, r, "http://app.example/ok", http.StatusFound)
	})
	l := testlogin.Login{BaseURL: srv.URL, Provider: "corp", Issuer: iss.URL(),
		Success: "http://app.example/ok", Failure: "http://app.example/fail", Scopes: []string{"extra"}}

	b := testlogin.NewBrowser(nil, "app.example")
	res, err := b.Login(context.Background(), l)
	if err != nil {
		t.Fatal(err)
	}
	if loc := res.Location(); loc == nil || loc.String() != "http://app.example/ok" {
		t.Fatalf("login ended at %v (HTTP %d), want the app's /ok", loc, res.Response.StatusCode)
	}
	if res.Authorization == nil || res.Authorization.Path != "/authorize" || res.Callback == nil || res.Callback.Path != "/callback" {
		t.Errorf("hops: authorization %v, callback %v", res.Authorization, res.Callback)
	}
	if b.Cookie(srv.URL, "session") != "s1" || callbacks != 1 {
		t.Errorf("session cookie %q after %d callbacks", b.Cookie(srv.URL, "session"), callbacks)
	}

	l.UntilCallback = true
	res, err = testlogin.NewBrowser(nil, "app.example").Login(context.Background(), l)
	if err != nil {
		t.Fatal(err)
	}
	if callbacks != 1 || res.Callback == nil || res.Callback.Query().Get("code") == "" {
		t.Errorf("UntilCallback: %d callbacks, callback %v", callbacks, res.Callback)
	}
}
