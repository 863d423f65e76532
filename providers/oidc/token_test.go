package oidc

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/internal/tokenhttp"
)

const refreshSecret = "rt-0123456789-secret"

func jsonAnswer(status int, body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

func TestRefreshErrorClassification(t *testing.T) {
	cases := []struct {
		name       string
		handler    http.HandlerFunc
		code       string
		status     int
		permanent  bool
		retryAfter time.Duration
		mentions   string
	}{
		{name: "invalid_grant", handler: jsonAnswer(400, `{"error":"invalid_grant","error_description":"token `+refreshSecret+` was revoked"}`),
			code: "invalid_grant", status: 400, permanent: true, mentions: "[redacted]"},
		{name: "200 with error member", handler: jsonAnswer(200, `{"error":"invalid_grant","access_token":"x"}`),
			code: "invalid_grant", status: 200, permanent: true},
		{name: "200 without access_token", handler: jsonAnswer(200, `{"token_type":"Bearer","refresh_token":"new"}`),
			status: 200, mentions: "access_token"},
		{name: "503 retry-after", handler: jsonAnswer(503, `{"error":"temporarily_unavailable"}`, "Retry-After", "7"),
			code: "temporarily_unavailable", status: 503, retryAfter: 7 * time.Second},
		{name: "429 no code", handler: jsonAnswer(429, `{}`, "Retry-After", "3"),
			status: 429, retryAfter: 3 * time.Second, mentions: "without an error code"},
		{name: "502 html echoing the token", handler: jsonAnswer(502, "<html>"+refreshSecret+"</html>", "Content-Type", "text/html; charset=utf-8"),
			status: 502, mentions: `non-JSON body (content-type "text/html; charset=utf-8")`},
		{name: "200 html", handler: jsonAnswer(200, "<html>"+refreshSecret+"</html>", "Content-Type", "text/html"),
			status: 200, mentions: `non-JSON body (content-type "text/html")`},
		{name: "redirect is not followed", handler: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
		}, status: 307},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			op := newMiniOP(t)
			op.token = tc.handler
			p := newReady(t, op.cfg(), Options{})
			_, err := p.Refresh(context.Background(), providers.RefreshRequest{RefreshToken: refreshSecret, Subject: "u"})
			oe := asOAuth(t, err)
			if oe.Code != tc.code || oe.HTTPStatus != tc.status {
				t.Errorf("Code, HTTPStatus = %q, %d; want %q, %d", oe.Code, oe.HTTPStatus, tc.code, tc.status)
			}
			if got := providers.IsPermanent(err); got != tc.permanent {
				t.Errorf("IsPermanent = %v, want %v", got, tc.permanent)
			}
			if got := providers.RetryAfter(err); got != tc.retryAfter {
				t.Errorf("RetryAfter = %v, want %v", got, tc.retryAfter)
			}
			msg := err.Error()
			if strings.Contains(msg, refreshSecret) || strings.Contains(msg, "s3cret-value") {
				t.Errorf("error leaks a secret: %s", msg)
			}
			if !strings.Contains(msg, tc.mentions) {
				t.Errorf("error %q does not mention %q", msg, tc.mentions)
			}
			if n := op.tokenRequests(); n != 1 {
				t.Errorf("%d requests reached the server, want exactly 1", n)
			}
		})
	}
}

func TestRefreshNetworkErrorIsTransient(t *testing.T) {
	op := newMiniOP(t)
	p := newReady(t, op.cfg(), Options{})
	op.srv.Close()
	_, err := p.Refresh(context.Background(), providers.RefreshRequest{RefreshToken: refreshSecret})
	oe := asOAuth(t, err)
	if oe.HTTPStatus != 0 || oe.Err == nil || providers.IsPermanent(err) {
		t.Fatalf("network failure: %+v, permanent=%v", oe, providers.IsPermanent(err))
	}
	if strings.Contains(err.Error(), refreshSecret) {
		t.Fatalf("error leaks the refresh token: %v", err)
	}
}

func TestRefreshWithoutTokenSendsNothing(t *testing.T) {
	op := newMiniOP(t)
	p := newReady(t, op.cfg(), Options{})
	_, err := p.Refresh(context.Background(), providers.RefreshRequest{})
	if !errors.Is(err, tokenhttp.ErrNoRefreshToken) || !providers.IsPermanent(err) {
		t.Fatalf("err = %v", err)
	}
	if op.tokenRequests() != 0 {
		t.Fatal("a request was sent without a refresh token")
	}
}

func TestRefreshKeepsOldTokenAndExpiry(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		name    string
		handler http.HandlerFunc
		refresh string
		expiry  time.Time
		scopes  []string
	}{
		{name: "no refresh_token, no expires_in", handler: jsonAnswer(200, `{"access_token":"at2","token_type":"Bearer"}`),
			refresh: refreshSecret},
		{name: "rotation", handler: jsonAnswer(200, `{"access_token":"at2","refresh_token":"rt2","expires_in":120,"scope":"openid email"}`),
			refresh: "rt2", expiry: now.Add(2 * time.Minute), scopes: []string{"openid", "email"}},
		{name: "form encoded", handler: jsonAnswer(200, "access_token=at2&expires_in=60", "Content-Type", "application/x-www-form-urlencoded"),
			refresh: refreshSecret, expiry: now.Add(time.Minute)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			op := newMiniOP(t)
			op.token = tc.handler
			p := newReady(t, op.cfg(), Options{Now: func() time.Time { return now }})
			tok, err := p.Refresh(context.Background(), providers.RefreshRequest{RefreshToken: refreshSecret})
			if err != nil {
				t.Fatal(err)
			}
			if tok.AccessToken != "at2" || tok.RefreshToken != tc.refresh || !tok.Expiry.Equal(tc.expiry) {
				t.Errorf("token = access %q refresh %q expiry %v; want refresh %q expiry %v",
					tok.AccessToken, tok.RefreshToken, tok.Expiry, tc.refresh, tc.expiry)
			}
			if strings.Join(tok.Scopes, " ") != strings.Join(tc.scopes, " ") {
				t.Errorf("scopes = %v, want %v", tok.Scopes, tc.scopes)
			}
			op.mu.Lock()
			form := op.forms[0]
			op.mu.Unlock()
			if form.Get("grant_type") != "refresh_token" || form.Get("refresh_token") != refreshSecret {
				t.Errorf("request form = %v", form)
			}
		})
	}
}

func TestAuthStyleIsExplicit(t *testing.T) {
	for _, style := range []string{"", "basic", "post"} {
		t.Run("style="+style, func(t *testing.T) {
			op := newMiniOP(t)
			// Fail every request: with auto-detection x/oauth2 would retry
			// the other way, which this test must not see.
			op.token = jsonAnswer(401, `{"error":"invalid_client"}`)
			cfg := op.cfg()
			cfg.AuthStyle = style
			p := newReady(t, cfg, Options{})
			_, err := p.Refresh(context.Background(), providers.RefreshRequest{RefreshToken: refreshSecret})
			if oe := asOAuth(t, err); oe.Code != "invalid_client" {
				t.Fatalf("Code = %q", oe.Code)
			}
			op.mu.Lock()
			defer op.mu.Unlock()
			if len(op.tokenReq) != 1 {
				t.Fatalf("%d requests, want 1", len(op.tokenReq))
			}
			user, pass, basic := op.tokenReq[0].BasicAuth()
			form := op.forms[0]
			inForm := form.Has("client_secret") || form.Has("client_id")
			if style == "post" {
				if basic || form.Get("client_id") != "client-1" || form.Get("client_secret") != "s3cret-value" {
					t.Fatalf("post style: basic=%v form=%v", basic, form)
				}
			} else if !basic || inForm || user != "client-1" || pass != "s3cret-value" {
				t.Fatalf("basic style: basic=%v user=%q inForm=%v", basic, user, inForm)
			}
		})
	}
}
