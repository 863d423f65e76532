package bridge_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge"
	"github.com/sessionbridge/sessionbridge/bridge/lifecycle"
	"github.com/sessionbridge/sessionbridge/bridge/seal"
	"github.com/sessionbridge/sessionbridge/providers"
)

// TestLoginCreatesSession follows a session-mode login through the bind
// hop: the provider sees one request with the login's secrets (and no
// redirect URL: it was opened with its own), and the session stores the
// sealed tokens, the client, the provider session and its refresh time.
func TestLoginCreatesSession(t *testing.T) {
	e := newEnv(t, nil)
	res := e.login(alice)
	if res.Mode != bridge.ModeSession || res.Success != "https://app.example/ok" || res.SessionSecret == "" || res.UserID == "" {
		t.Fatalf("result = %+v", res)
	}
	reqs := e.idp.AuthRequests()
	if len(reqs) != 1 || reqs[0].RedirectURL != "" || len(reqs[0].Scopes) != 1 || reqs[0].Scopes[0] != "extra" {
		t.Fatalf("authorization requests = %+v", reqs)
	}
	sess, err := e.store.GetSession(context.Background(), res.Session.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := t0.Add(time.Hour - 10*time.Minute)
	if sess.UserID != res.UserID || sess.Provider != "corp" || sess.ProviderUID != "alice-1" || sess.ProviderSID != "sid-1" ||
		!sess.EmailVerified || !sess.RefreshAt.Equal(want) || !sess.Expire.Equal(t0.Add(365*24*time.Hour)) {
		t.Fatalf("stored session = %+v", sess)
	}
	if sess.Client.CountryCode != "de" || sess.Client.ClientName != "Fake Browser 1.0" || sess.Client.IP != "192.0.2.1" {
		t.Fatalf("client = %+v", sess.Client)
	}
	access, refresh, err := e.svc.Tokens(sess)
	if err != nil || !strings.HasPrefix(access, "at-corp-") || !strings.HasPrefix(refresh, "rt-corp-") {
		t.Fatalf("tokens %q %q %v", access, refresh, err)
	}
	if only, err := e.svc.AccessToken(sess); err != nil || only != access {
		t.Fatalf("AccessToken = %q, %v", only, err)
	}
	if len(e.refresher.notified) != 1 || !e.refresher.notified[0].Equal(want) {
		t.Fatalf("refresher notified %v, want %v", e.refresher.notified, want)
	}
	if e.metric("sessionbridge_logins_started_total", "corp") != 1 || e.metric("sessionbridge_logins_completed_total", "corp") != 1 ||
		e.metric("sessionbridge_sessions_created_total", "corp") != 1 {
		t.Fatal("login metrics not counted")
	}
	u, err := e.svc.User(context.Background(), res.UserID)
	if err != nil || u.Email != alice.Email || u.Name != alice.Name {
		t.Fatalf("user = %+v, %v", u, err)
	}
}

// TestLoginWithoutRefreshParts: a grant without refresh token or expiry
// is never scheduled, and without a detector the session's country is
// Appwrite's unknown.
func TestLoginWithoutRefreshParts(t *testing.T) {
	e := newEnv(t, func(e *env, o *bridge.Options) {
		e.idp.NoRefreshToken, e.idp.TokenTTL = true, 0
		o.Detector = nil
	})
	res := e.login(bob)
	if !res.Session.RefreshAt.IsZero() || !res.Session.AccessTokenExpiry.IsZero() || res.Session.EmailVerified {
		t.Fatalf("session = %+v", res.Session)
	}
	if c := res.Session.Client; c.CountryCode != "--" || c.CountryName != "Unknown" || c.IP != "" {
		t.Fatalf("client = %+v", c)
	}
	if len(e.refresher.notified) != 0 {
		t.Fatalf("notified %v", e.refresher.notified)
	}
}

// TestBeginBoundLogin is the one-hop login of a top-level navigation.
func TestBeginBoundLogin(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	bound, authURL, err := e.svc.BeginBoundLogin(ctx, bridge.LoginStart{Provider: "corp", Success: "https://app.example/"})
	if err != nil || !strings.Contains(authURL, "state="+bound.State) || !bound.ExpiresAt.Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("BeginBoundLogin: %+v %q %v", bound, authURL, err)
	}
	if got, ok := bridge.FindBound([]bridge.BoundFlow{{State: "other"}, bound}, bound.State); !ok || got != bound {
		t.Fatalf("FindBound = %v, %v", got, ok)
	}
	if _, ok := bridge.FindBound([]bridge.BoundFlow{bound}, ""); ok {
		t.Fatal("FindBound matched an empty state")
	}
	res, err := e.finish(bound, alice)
	if err != nil || res.Mode != bridge.ModeSession {
		t.Fatalf("CompleteLogin: %+v, %v", res, err)
	}
	if strings.Contains(bound.String(), bound.State) || strings.Contains(bound.String(), bound.Verifier) {
		t.Fatalf("BoundFlow.String leaks a secret: %s", bound)
	}
}

// TestLoginStartFailures covers the failures before the provider is seen.
func TestLoginStartFailures(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	_, err := e.svc.BeginLogin(ctx, bridge.LoginStart{Provider: "nope"})
	wantKind(t, err, bridge.KindDisabled, bridge.TypeProviderDisabled)
	_, _, err = e.svc.BeginBoundLogin(ctx, bridge.LoginStart{Provider: "nope"})
	wantKind(t, err, bridge.KindDisabled, bridge.TypeProviderDisabled)
	_, _, err = e.svc.BindLogin(ctx, "unknown-handle")
	wantKind(t, err, bridge.KindInvalid, bridge.TypeArgumentInvalid)

	handle, err := e.svc.BeginLogin(ctx, bridge.LoginStart{Provider: "corp", Failure: "https://app.example/fail"})
	if err != nil {
		t.Fatal(err)
	}
	e.idp.AuthErr = &providers.UnavailableError{Provider: "corp", Err: errors.New("discovery failed")}
	bound, _, err := e.svc.BindLogin(ctx, handle)
	wantKind(t, err, bridge.KindUnavailable, bridge.TypeOAuth2ProviderError)
	if bound.Failure != "https://app.example/fail" {
		t.Fatalf("the failure URL is lost: %+v", bound)
	}
	_, _, err = e.svc.BindLogin(ctx, handle)
	wantKind(t, err, bridge.KindInvalid, bridge.TypeArgumentInvalid) // the handle is single use
	_, _, err = e.svc.BeginBoundLogin(ctx, bridge.LoginStart{Provider: "corp"})
	wantKind(t, err, bridge.KindUnavailable, bridge.TypeOAuth2ProviderError)
	if e.metric("sessionbridge_logins_failed_total", "corp", "provider_unavailable") != 2 {
		t.Fatal("unavailable starts not counted")
	}

	// A provider removed from the configuration between begin and bind.
	e2 := newEnv(t, nil)
	handle, _ = e2.svc.BeginLogin(ctx, bridge.LoginStart{Provider: "corp"})
	e3 := bridge.New(bridge.Options{Store: e2.store, Keys: e2.keys, Providers: providers.Registry{}, Now: e2.clock.Now})
	_, _, err = e3.BindLogin(ctx, handle)
	wantKind(t, err, bridge.KindDisabled, bridge.TypeProviderDisabled)
}

// TestCallbackFailures: every way a callback can fail, with the error
// kind and type the caller sees and the failure label of the metric.
func TestCallbackFailures(t *testing.T) {
	deadline := context.DeadlineExceeded
	for _, c := range []struct {
		name string
		edit func(e *env, in *bridge.CallbackInput, bound *bridge.BoundFlow)
		id   *providers.Identity // who the user is at the provider (default alice)
		// labelProvider is the metric's provider label (default corp).
		labelProvider string
		kind          bridge.ErrorKind
		typ           string
		label         string
		check         func(t *testing.T, err *bridge.Error)
	}{
		{name: "other provider", edit: func(_ *env, in *bridge.CallbackInput, _ *bridge.BoundFlow) { in.Provider = "other" },
			kind: bridge.KindInvalid, typ: bridge.TypeArgumentInvalid, label: "state_invalid", labelProvider: "unknown"},
		{name: "unknown state", edit: func(_ *env, in *bridge.CallbackInput, _ *bridge.BoundFlow) { in.State = "forged" },
			kind: bridge.KindInvalid, typ: bridge.TypeArgumentInvalid, label: "state_invalid"},
		{name: "expired state", edit: func(e *env, _ *bridge.CallbackInput, _ *bridge.BoundFlow) { e.clock.Advance(11 * time.Minute) },
			kind: bridge.KindInvalid, typ: bridge.TypeArgumentInvalid, label: "state_invalid"},
		{name: "provider refused", edit: func(_ *env, in *bridge.CallbackInput, _ *bridge.BoundFlow) {
			in.Code, in.Error, in.ErrorDescription = "", "access_denied", "The user\ncancelled."
		}, kind: bridge.KindProviderFailed, typ: bridge.TypeOAuth2ProviderError, label: "provider_refused",
			check: func(t *testing.T, e *bridge.Error) {
				if !strings.HasSuffix(e.Message, ": access_denied") || e.ProviderDescription != "The user cancelled." {
					t.Fatalf("message %q, description %q", e.Message, e.ProviderDescription)
				}
			}},
		{name: "provider refused with a strange code", edit: func(_ *env, in *bridge.CallbackInput, _ *bridge.BoundFlow) {
			in.Error = "<script>"
		}, kind: bridge.KindProviderFailed, typ: bridge.TypeOAuth2ProviderError, label: "provider_refused",
			check: func(t *testing.T, e *bridge.Error) {
				if !strings.HasSuffix(e.Message, ": unknown_error") {
					t.Fatalf("message %q", e.Message)
				}
			}},
		{name: "no code", edit: func(_ *env, in *bridge.CallbackInput, _ *bridge.BoundFlow) { in.Code = "" },
			kind: bridge.KindInvalid, typ: bridge.TypeArgumentInvalid, label: "bad_request"},
		{name: "unknown code", edit: func(e *env, in *bridge.CallbackInput, _ *bridge.BoundFlow) { in.Code = "code-corp-0" },
			kind: bridge.KindProviderFailed, typ: bridge.TypeOAuth2ProviderError, label: "token_error",
			check: func(t *testing.T, e *bridge.Error) {
				if !strings.HasSuffix(e.Message, ": invalid_grant") || e.ProviderDescription != "unknown or used code" {
					t.Fatalf("message %q, description %q", e.Message, e.ProviderDescription)
				}
			}},
		{name: "other browser's verifier", edit: func(_ *env, _ *bridge.CallbackInput, b *bridge.BoundFlow) { b.Verifier = "x" },
			kind: bridge.KindProviderFailed, typ: bridge.TypeOAuth2ProviderError, label: "token_error"},
		{name: "other browser's nonce", edit: func(_ *env, _ *bridge.CallbackInput, b *bridge.BoundFlow) { b.Nonce = "x" },
			kind: bridge.KindUnauthorized, typ: bridge.TypeOAuth2Unauthorized, label: "verification_failed",
			check: func(t *testing.T, e *bridge.Error) {
				if !strings.Contains(e.Message, "(nonce)") {
					t.Fatalf("message %q", e.Message)
				}
			}},
		{name: "provider down", edit: func(e *env, _ *bridge.CallbackInput, _ *bridge.BoundFlow) {
			e.idp.ExchangeErr = &providers.UnavailableError{Provider: "corp", Err: errors.New("down")}
		}, kind: bridge.KindUnavailable, typ: bridge.TypeOAuth2ProviderError, label: "provider_unavailable"},
		{name: "provider slow", edit: func(e *env, _ *bridge.CallbackInput, _ *bridge.BoundFlow) { e.idp.ExchangeErr = deadline },
			kind: bridge.KindTimeout, typ: bridge.TypeOAuth2ProviderError, label: "timeout"},
		{name: "provider broken", edit: func(e *env, _ *bridge.CallbackInput, _ *bridge.BoundFlow) {
			e.idp.ExchangeErr = errors.New("EOF")
		}, kind: bridge.KindProviderFailed, typ: bridge.TypeOAuth2ProviderError, label: "bad_request"},
		{name: "no subject", edit: func(*env, *bridge.CallbackInput, *bridge.BoundFlow) {}, id: &providers.Identity{Email: "nobody@example.com"},
			kind: bridge.KindProviderFailed, typ: bridge.TypeOAuth2BadResponse, label: "bad_request"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, nil)
			bound := e.begin(bridge.ModeSession)
			id := alice
			if c.id != nil {
				id = *c.id
			}
			in := bridge.CallbackInput{Provider: "corp", State: bound.State, Code: e.idp.Approve(bound.State, id)}
			c.edit(e, &in, &bound)
			res, err := e.svc.CompleteLogin(context.Background(), in, bound, client)
			if res != nil {
				t.Fatalf("result %+v", res)
			}
			got := wantKind(t, err, c.kind, c.typ)
			if c.check != nil {
				c.check(t, got)
			}
			provider := "corp"
			if c.labelProvider != "" {
				provider = c.labelProvider
			}
			if n := e.metric("sessionbridge_logins_failed_total", provider, c.label); n != 1 {
				t.Fatalf("failure %q counted %d times", c.label, n)
			}
			if n := e.sessionCount(); n != 0 {
				t.Fatalf("%d sessions stored", n)
			}
		})
	}
}

// TestLoginBlockedUser: a blocked user's login is refused in either
// mode, and what the provider said about the user is still recorded.
func TestLoginBlockedUser(t *testing.T) {
	for _, mode := range []string{bridge.ModeSession, bridge.ModeToken} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, nil)
			ctx := context.Background()
			first := e.login(alice)
			if _, err := e.svc.SetUserStatus(ctx, first.UserID, false); err != nil {
				t.Fatal(err)
			}
			renamed := alice
			renamed.Email = "alice@new.example"
			_, err := e.finish(e.begin(mode), renamed)
			wantKind(t, err, bridge.KindUnauthorized, bridge.TypeUserBlocked)
			u, _ := e.svc.User(ctx, first.UserID)
			if u.Email != "alice@new.example" {
				t.Fatalf("the refused login's identity was not recorded: %+v", u)
			}
			if list, _ := e.store.ListSessions(ctx, first.UserID); len(list) != 1 {
				t.Fatalf("%d sessions, want only the first", len(list))
			}
		})
	}
}

// TestSessionCap: the per-user cap removes the oldest sessions, whether
// the new one comes from a login, a redeemed token or an API key, and
// counts them as over_cap.
func TestSessionCap(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	var ids []string
	for range 3 {
		ids = append(ids, e.login(alice).Session.ID)
		e.clock.Advance(time.Second)
	}
	user := e.login(alice).UserID
	e.clock.Advance(time.Second)
	if _, _, err := e.svc.CreateServerSession(ctx, user, client); err != nil {
		t.Fatal(err)
	}
	list, _ := e.store.ListSessions(ctx, user)
	if len(list) != 3 || list[0].ID == ids[0] || list[0].ID == ids[1] {
		t.Fatalf("sessions after cap: %d, first %s (oldest were %v)", len(list), list[0].ID, ids[:2])
	}
	if n := e.endedCount(lifecycle.OverCap); n != 2 {
		t.Fatalf("over_cap counted %d, want 2", n)
	}
}

// TestTokenFlow: a token-mode login hands out a single-use secret that
// becomes a session with the login's grant.
func TestTokenFlow(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	res, err := e.finish(e.begin(bridge.ModeToken), alice)
	if err != nil || res.Mode != bridge.ModeToken || res.TokenSecret == "" || res.SessionSecret != "" || res.UserID == "" {
		t.Fatalf("token login: %+v, %v", res, err)
	}
	if n := e.sessionCount(); n != 0 {
		t.Fatalf("%d sessions before redeeming", n)
	}
	_, _, err = e.svc.RedeemLoginToken(ctx, res.UserID, "wrong", client)
	wantKind(t, err, bridge.KindUnauthorized, bridge.TypeInvalidToken)
	sess, secret, err := e.svc.RedeemLoginToken(ctx, res.UserID, res.TokenSecret, client)
	if err != nil || secret == "" || sess.UserID != res.UserID || sess.ProviderUID != "alice-1" || sess.Client.CountryCode != "de" {
		t.Fatalf("redeem: %+v %v", sess, err)
	}
	if _, err := e.svc.Authenticate(ctx, bridge.Credential{SessionID: sess.ID, Secret: secret}); err != nil {
		t.Fatalf("the redeemed session does not authenticate: %v", err)
	}
	_, _, err = e.svc.RedeemLoginToken(ctx, res.UserID, res.TokenSecret, client)
	wantKind(t, err, bridge.KindUnauthorized, bridge.TypeInvalidToken)
	_, _, err = e.svc.RedeemLoginToken(ctx, "", "", client)
	wantKind(t, err, bridge.KindInvalid, bridge.TypeArgumentInvalid)

	// Expired, and a user blocked in between.
	late, _ := e.finish(e.begin(bridge.ModeToken), alice)
	e.clock.Advance(61 * time.Second)
	_, _, err = e.svc.RedeemLoginToken(ctx, late.UserID, late.TokenSecret, client)
	wantKind(t, err, bridge.KindUnauthorized, bridge.TypeInvalidToken)
	blocked, _ := e.finish(e.begin(bridge.ModeToken), alice)
	if _, err := e.svc.SetUserStatus(ctx, blocked.UserID, false); err != nil {
		t.Fatal(err)
	}
	_, _, err = e.svc.RedeemLoginToken(ctx, blocked.UserID, blocked.TokenSecret, client)
	wantKind(t, err, bridge.KindUnauthorized, bridge.TypeUserBlocked)
}

// TestAbandonLogin: a state another browser presents ends the login.
func TestAbandonLogin(t *testing.T) {
	e := newEnv(t, nil)
	bound := e.begin(bridge.ModeSession)
	if got := e.svc.AbandonLogin(context.Background(), "unknown"); got != "" {
		t.Fatalf("unknown state: %q", got)
	}
	if got := e.svc.AbandonLogin(context.Background(), strings.Repeat("x", 513)); got != "" {
		t.Fatalf("oversized state: %q", got)
	}
	if got := e.svc.AbandonLogin(context.Background(), bound.State); got != "https://app.example/fail" {
		t.Fatalf("AbandonLogin = %q", got)
	}
	_, err := e.finish(bound, alice)
	wantKind(t, err, bridge.KindInvalid, bridge.TypeArgumentInvalid)
	e.svc.LoginStateRejected("evil-provider")
	if e.metric("sessionbridge_logins_failed_total", "unknown", "state_invalid") != 1 {
		t.Fatal("a rejected state of an unknown provider is not counted under unknown")
	}
}

// TestLoginWaitsForDiscovery: a login that meets its provider's first
// discovery waits for it instead of failing.
func TestLoginWaitsForDiscovery(t *testing.T) {
	discovered := make(chan struct{})
	e := newEnv(t, func(e *env, _ *bridge.Options) { e.idp.Discovered = discovered })
	go close(discovered)
	if _, _, err := e.svc.BeginBoundLogin(context.Background(), bridge.LoginStart{Provider: "corp"}); err != nil {
		t.Fatal(err)
	}
	// Never finished: the wait is bounded by DiscoveryWait.
	e2 := newEnv(t, func(e *env, o *bridge.Options) {
		e.idp.Discovered = make(chan struct{})
		e.idp.AuthErr = &providers.UnavailableError{Provider: "corp", Err: errors.New("not yet")}
		o.DiscoveryWait = time.Millisecond
	})
	_, _, err := e2.svc.BeginBoundLogin(context.Background(), bridge.LoginStart{Provider: "corp"})
	wantKind(t, err, bridge.KindUnavailable, bridge.TypeOAuth2ProviderError)
}

// TestUnsealableTokens: tokens open only with their own session's key
// binding.
func TestUnsealableTokens(t *testing.T) {
	e := newEnv(t, nil)
	sess := e.login(alice).Session
	sess.AccessTokenSealed = []byte("garbage")
	if _, _, err := e.svc.Tokens(sess); err == nil {
		t.Fatal("Tokens opened garbage")
	}
	if _, err := e.svc.AccessToken(sess); err == nil {
		t.Fatal("AccessToken opened garbage")
	}
	sess = e.login(alice).Session
	sess.RefreshTokenSealed, _ = e.keys.Seal("x", seal.AAD("another-session", "refresh"))
	if _, _, err := e.svc.Tokens(sess); err == nil {
		t.Fatal("Tokens opened a refresh token sealed for another session")
	}
}
