package bridge_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge"
	"github.com/sessionbridge/sessionbridge/bridge/lifecycle"
	"github.com/sessionbridge/sessionbridge/bridge/seal"
	"github.com/sessionbridge/sessionbridge/bridge/sessioncache"
	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/providers"
)

// TestAuthenticate: a credential names a live session of an active user.
func TestAuthenticate(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name string
		// prepare changes the world after alice logged in and returns the
		// credential to present.
		prepare func(e *env, res *bridge.LoginResult) bridge.Credential
		kind    bridge.ErrorKind
		typ     string // "" : success
	}{
		{name: "valid", prepare: func(_ *env, res *bridge.LoginResult) bridge.Credential {
			return bridge.Credential{SessionID: res.Session.ID, Secret: res.SessionSecret}
		}},
		{name: "empty", prepare: func(*env, *bridge.LoginResult) bridge.Credential { return bridge.Credential{} },
			kind: bridge.KindUnauthorized, typ: bridge.TypeUnauthorizedScope},
		{name: "wrong secret", prepare: func(_ *env, res *bridge.LoginResult) bridge.Credential {
			return bridge.Credential{SessionID: res.Session.ID, Secret: "guess"}
		}, kind: bridge.KindUnauthorized, typ: bridge.TypeUnauthorizedScope},
		{name: "unknown session", prepare: func(_ *env, res *bridge.LoginResult) bridge.Credential {
			return bridge.Credential{SessionID: "nope", Secret: res.SessionSecret}
		}, kind: bridge.KindUnauthorized, typ: bridge.TypeUnauthorizedScope},
		{name: "expired", prepare: func(e *env, res *bridge.LoginResult) bridge.Credential {
			e.clock.Advance(366 * 24 * time.Hour)
			return bridge.Credential{SessionID: res.Session.ID, Secret: res.SessionSecret}
		}, kind: bridge.KindUnauthorized, typ: bridge.TypeUnauthorizedScope},
		{name: "blocked user", prepare: func(e *env, res *bridge.LoginResult) bridge.Credential {
			if _, err := e.svc.SetUserStatus(ctx, res.UserID, false); err != nil {
				t.Fatal(err)
			}
			return bridge.Credential{SessionID: res.Session.ID, Secret: res.SessionSecret}
		}, kind: bridge.KindUnauthorized, typ: bridge.TypeUserBlocked},
		{name: "signed out", prepare: func(e *env, res *bridge.LoginResult) bridge.Credential {
			if err := e.svc.DeleteSession(ctx, res.UserID, res.Session.ID, lifecycle.SignedOut); err != nil {
				t.Fatal(err)
			}
			return bridge.Credential{SessionID: res.Session.ID, Secret: res.SessionSecret}
		}, kind: bridge.KindUnauthorized, typ: bridge.TypeUnauthorizedScope},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, nil)
			res := e.login(alice)
			cred := c.prepare(e, res)
			sess, err := e.svc.Authenticate(ctx, cred)
			if c.typ == "" {
				if err != nil || sess.ID != res.Session.ID {
					t.Fatalf("Authenticate = %s, %v", sess.ID, err)
				}
				return
			}
			wantKind(t, err, c.kind, c.typ)
		})
	}
}

// TestAuthenticateCached: with a session cache, a session seen once is
// answered from memory and still checked (secret, expiry), and a local
// sign-out counts at once.
func TestAuthenticateCached(t *testing.T) {
	ctx := context.Background()
	var cache *sessioncache.Cache
	e := newEnv(t, func(e *env, o *bridge.Options) {
		// Elapsed stands still: the feed's last poll is always recent.
		cache = sessioncache.New(sessioncache.Options{Feed: e.store, Elapsed: func() time.Duration { return 0 }})
		o.Cache = cache
	})
	res := e.login(alice)
	must(t, cache.Poll(ctx))
	cred := bridge.Credential{SessionID: res.Session.ID, Secret: res.SessionSecret}
	if _, err := e.svc.Authenticate(ctx, cred); err != nil || cache.Len() != 1 {
		t.Fatalf("first Authenticate: %v, cached %d", err, cache.Len())
	}
	if sess, err := e.svc.Authenticate(ctx, cred); err != nil || sess.ID != res.Session.ID {
		t.Fatalf("cached Authenticate = %v", err)
	}
	_, err := e.svc.Authenticate(ctx, bridge.Credential{SessionID: res.Session.ID, Secret: "guess"})
	wantKind(t, err, bridge.KindUnauthorized, bridge.TypeUnauthorizedScope)
	must(t, e.svc.DeleteSession(ctx, res.UserID, res.Session.ID, lifecycle.SignedOut))
	_, err = e.svc.Authenticate(ctx, cred)
	wantKind(t, err, bridge.KindUnauthorized, bridge.TypeUnauthorizedScope)

	other := e.login(bob)
	cred = bridge.Credential{SessionID: other.Session.ID, Secret: other.SessionSecret}
	_, _ = e.svc.Authenticate(ctx, cred)
	e.clock.Advance(366 * 24 * time.Hour)
	_, err = e.svc.Authenticate(ctx, cred)
	wantKind(t, err, bridge.KindUnauthorized, bridge.TypeUnauthorizedScope)
}

// TestAuthenticateJWT: a JWT works while its session lives, is its
// user's, and the user is active.
func TestAuthenticateJWT(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	res := e.login(alice)
	if sess, err := e.svc.AuthenticateJWT(ctx, res.UserID, res.Session.ID); err != nil || sess.ID != res.Session.ID {
		t.Fatalf("AuthenticateJWT = %v", err)
	}
	_, err := e.svc.AuthenticateJWT(ctx, "someone-else", res.Session.ID)
	wantKind(t, err, bridge.KindUnauthorized, bridge.TypeUnauthorizedScope)
	if err := e.svc.DeleteUser(ctx, res.UserID); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.AuthenticateJWT(ctx, res.UserID, res.Session.ID)
	wantKind(t, err, bridge.KindUnauthorized, bridge.TypeUnauthorizedScope)
}

// TestUserAccessedAt: checking a session moves the user's accessedAt at
// most once per UserAccessPeriod.
func TestUserAccessedAt(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	res := e.login(alice)
	cred := bridge.Credential{SessionID: res.Session.ID, Secret: res.SessionSecret}
	accessed := func() time.Time {
		u, err := e.svc.User(ctx, res.UserID)
		if err != nil {
			t.Fatal(err)
		}
		return u.AccessedAt
	}
	if _, err := e.svc.Authenticate(ctx, cred); err != nil {
		t.Fatal(err)
	}
	first := accessed()
	if !first.Equal(t0) {
		t.Fatalf("accessedAt = %v, want %v", first, t0)
	}
	e.clock.Advance(time.Hour)
	_, _ = e.svc.Authenticate(ctx, cred)
	if !accessed().Equal(first) {
		t.Fatal("accessedAt moved within the period")
	}
	e.clock.Advance(bridge.UserAccessPeriod)
	_, _ = e.svc.Authenticate(ctx, cred)
	if want := t0.Add(time.Hour + bridge.UserAccessPeriod); !accessed().Equal(want) {
		t.Fatalf("accessedAt = %v after a period, want %v", accessed(), want)
	}
}

// TestReadsRefreshExpiredTokens: reading sessions renews an access token
// that has expired (through the refresher), except a blocked user's; a
// failed renewal returns the session as it was.
func TestReadsRefreshExpiredTokens(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	res := e.login(alice)
	list, err := e.svc.Sessions(ctx, res.UserID)
	if err != nil || len(list) != 1 || len(e.refresher.calls()) != 0 {
		t.Fatalf("fresh token: %d sessions, %v, %d refreshes", len(list), err, len(e.refresher.calls()))
	}
	e.clock.Advance(2 * time.Hour)
	sess, err := e.svc.Session(ctx, res.UserID, res.Session.ID)
	if err != nil || !sess.AccessTokenExpiry.Equal(e.clock.Now().Add(time.Hour)) {
		t.Fatalf("Session did not come back renewed: %v %v", sess.AccessTokenExpiry, err)
	}
	if access, _ := e.svc.AccessToken(sess); access != "renewed-access-1" {
		t.Fatalf("access token = %q", access)
	}
	e.clock.Advance(2 * time.Hour)
	e.refresher.setErr(errors.New("provider down"))
	if got := e.svc.Fresh(ctx, sess); !got.AccessTokenExpiry.Equal(sess.AccessTokenExpiry) {
		t.Fatal("a failed renewal changed the session")
	}
	if _, err := e.svc.SetUserStatus(ctx, res.UserID, false); err != nil {
		t.Fatal(err)
	}
	before := len(e.refresher.calls())
	if list, err = e.svc.Sessions(ctx, res.UserID); err != nil || len(list) != 1 || len(e.refresher.calls()) != before {
		t.Fatalf("blocked user's sessions: %d, %v, refreshed %d times", len(list), err, len(e.refresher.calls())-before)
	}
	e.clock.Advance(366 * 24 * time.Hour)
	if list, _ = e.svc.Sessions(ctx, res.UserID); len(list) != 0 {
		t.Fatalf("expired sessions listed: %d", len(list))
	}
	_, err = e.svc.Session(ctx, res.UserID, res.Session.ID)
	wantKind(t, err, bridge.KindNotFound, bridge.TypeSessionNotFound)
}

// TestExtendSession: PATCH refreshes the grant first and then slides the
// expiry; each refresh outcome has its answer.
func TestExtendSession(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name    string
		err     error
		kind    bridge.ErrorKind
		typ     string // "": extended
		renewed bool
	}{
		{name: "refreshed", renewed: true},
		{name: "not configured", err: fmt.Errorf("wrapped: %w", bridge.ErrRefreshNotConfigured)},
		{name: "session ended", err: store.ErrNotFound, kind: bridge.KindNotFound, typ: bridge.TypeSessionNotFound},
		{name: "grant revoked", err: bridge.ErrGrantRevoked, kind: bridge.KindUnauthorized, typ: bridge.TypeOAuth2Unauthorized},
		{name: "provider down", err: errors.New("connection refused"), kind: bridge.KindUnavailable, typ: bridge.TypeOAuth2ProviderError},
		{name: "wait over", err: context.DeadlineExceeded, kind: bridge.KindTimeout, typ: bridge.TypeOAuth2ProviderError},
		{name: "client refused", err: &providers.OAuthError{Code: "invalid_client"}, kind: bridge.KindProviderFailed, typ: bridge.TypeOAuth2ProviderError},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, nil)
			res := e.login(alice)
			e.clock.Advance(24 * time.Hour)
			e.refresher.setErr(c.err)
			sess, err := e.svc.ExtendSession(ctx, res.UserID, res.Session.ID)
			stored, _ := e.store.GetSession(ctx, res.Session.ID)
			if c.typ != "" {
				wantKind(t, err, c.kind, c.typ)
				if !stored.Expire.Equal(res.Session.Expire) {
					t.Fatalf("a failed extension moved the expiry to %v", stored.Expire)
				}
				return
			}
			want := e.clock.Now().Add(365 * 24 * time.Hour)
			if err != nil || !sess.Expire.Equal(want) || !stored.Expire.Equal(want) {
				t.Fatalf("ExtendSession = %v (stored %v), %v; want %v", sess.Expire, stored.Expire, err, want)
			}
			if renewed := !stored.RefreshedAt.Equal(t0); renewed != c.renewed {
				t.Fatalf("renewed = %v, want %v", renewed, c.renewed)
			}
		})
	}
}

// TestExtendSessionWithoutGrant: a session without refresh token (or of
// someone else) is only slid, or not found.
func TestExtendSessionWithoutGrant(t *testing.T) {
	e := newEnv(t, func(e *env, _ *bridge.Options) { e.idp.NoRefreshToken = true })
	ctx := context.Background()
	res := e.login(alice)
	e.clock.Advance(time.Hour)
	if sess, err := e.svc.ExtendSession(ctx, res.UserID, res.Session.ID); err != nil || !sess.Expire.Equal(e.clock.Now().Add(365*24*time.Hour)) {
		t.Fatalf("ExtendSession = %v, %v", sess.Expire, err)
	}
	if n := len(e.refresher.calls()); n != 0 {
		t.Fatalf("%d refreshes of a grant without refresh token", n)
	}
	_, err := e.svc.ExtendSession(ctx, "someone-else", res.Session.ID)
	wantKind(t, err, bridge.KindNotFound, bridge.TypeSessionNotFound)
}

// TestDeleteSessions: sign-out and revocation end sessions under their
// reason and revoke the provider tokens as the provider's scope allows.
func TestDeleteSessions(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		scope providers.RevocationScope
		// run ends sessions of the user's three; it returns how many.
		run        func(e *env, user string, ids []string) int
		reason     lifecycle.Reason
		sent       int // revocation requests
		sharedSkip int // revocations skipped because the grant is shared
	}{
		{name: "sign out one, token scope", scope: providers.RevokesToken, reason: lifecycle.SignedOut, sent: 1,
			run: func(e *env, user string, ids []string) int {
				must(t, e.svc.DeleteSession(ctx, user, ids[0], lifecycle.SignedOut))
				return 1
			}},
		{name: "revoke one, grant scope shared", scope: providers.RevokesGrant, reason: lifecycle.Revoked, sharedSkip: 1,
			run: func(e *env, user string, ids []string) int {
				must(t, e.svc.DeleteSession(ctx, user, ids[1], lifecycle.Revoked))
				return 1
			}},
		{name: "revoke all, grant scope", scope: providers.RevokesGrant, reason: lifecycle.Revoked, sent: 1,
			run: func(e *env, user string, _ []string) int {
				must(t, e.svc.DeleteSessions(ctx, user, lifecycle.Revoked))
				return 3
			}},
		{name: "sign out all, token scope", scope: providers.RevokesToken, reason: lifecycle.SignedOut, sent: 3,
			run: func(e *env, user string, _ []string) int {
				must(t, e.svc.DeleteSessions(ctx, user, lifecycle.SignedOut))
				return 3
			}},
		{name: "no revocation", reason: lifecycle.SignedOut,
			run: func(e *env, user string, ids []string) int {
				must(t, e.svc.DeleteSession(ctx, user, ids[2], lifecycle.SignedOut))
				return 1
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, func(e *env, _ *bridge.Options) { e.idp.Scope = c.scope })
			var ids []string
			var user string
			for range 3 {
				res := e.login(alice)
				ids, user = append(ids, res.Session.ID), res.UserID
			}
			n := c.run(e, user, ids)
			if got := e.endedCount(c.reason); got != n {
				t.Fatalf("ended %d under %s, want %d", got, c.reason, n)
			}
			if left, _ := e.store.ListSessions(ctx, user); len(left) != 3-n {
				t.Fatalf("%d sessions left, want %d", len(left), 3-n)
			}
			if len(e.revoker.sent) != c.sent || e.revoker.counts["shared_grant"] != c.sharedSkip {
				t.Fatalf("revocations sent %d, shared skips %d; want %d, %d", len(e.revoker.sent), e.revoker.counts["shared_grant"], c.sent, c.sharedSkip)
			}
			for _, req := range e.revoker.sent {
				if !strings.HasPrefix(req.RefreshToken, "rt-corp-") || !strings.HasPrefix(req.AccessToken, "at-corp-") {
					t.Fatalf("revocation request %v lacks the tokens", req)
				}
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestDeleteSessionRefusals: only one's own live session can be deleted;
// tokens that cannot be opened are counted, not sent.
func TestDeleteSessionRefusals(t *testing.T) {
	e := newEnv(t, func(e *env, _ *bridge.Options) { e.idp.Scope = providers.RevokesToken })
	ctx := context.Background()
	res := e.login(alice)
	err := e.svc.DeleteSession(ctx, "someone-else", res.Session.ID, lifecycle.SignedOut)
	wantKind(t, err, bridge.KindNotFound, bridge.TypeSessionNotFound)
	err = e.svc.DeleteSession(ctx, res.UserID, "nope", lifecycle.SignedOut)
	wantKind(t, err, bridge.KindNotFound, bridge.TypeSessionNotFound)

	// Sealed under a key that is gone: counted as unreadable.
	sess, _ := e.store.GetSession(ctx, res.Session.ID)
	sess.AccessTokenSealed, _ = e.keys.Seal("x", seal.AAD("elsewhere", "access"))
	must(t, e.store.CompareAndSwapSession(ctx, &sess))
	must(t, e.svc.DeleteSession(ctx, res.UserID, res.Session.ID, lifecycle.SignedOut))
	if len(e.revoker.sent) != 0 || e.revoker.counts["unreadable"] != 1 {
		t.Fatalf("sent %d, unreadable %d", len(e.revoker.sent), e.revoker.counts["unreadable"])
	}
}

// TestSignOut: signing out ends the session and, where the provider
// enables it, returns the RP-initiated logout request with the ID token.
func TestSignOut(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(e *env, _ *bridge.Options) { e.idp.EndSessionEndpoint = "https://idp.example:8443/logout" })
	res := e.login(alice)
	out, err := e.svc.SignOut(ctx, res.UserID, res.Session.ID, "https://app.example/bye")
	if err != nil || !strings.HasPrefix(out.URL, "https://idp.example:8443/logout?") || out.Action != "https://idp.example:8443/logout" ||
		!strings.HasPrefix(out.Params["id_token_hint"], "idt-corp-") || out.Params["post_logout_redirect_uri"] != "https://app.example/bye" ||
		len(out.Params["state"]) < 20 {
		t.Fatalf("SignOut = %+v, %v", out, err)
	}
	if e.endedCount(lifecycle.SignedOut) != 1 {
		t.Fatal("sign-out not counted")
	}
	if got := e.svc.ProviderLogoutOrigin("corp"); got != "https://idp.example:8443" {
		t.Fatalf("ProviderLogoutOrigin = %q", got)
	}
	_, err = e.svc.SignOut(ctx, res.UserID, res.Session.ID, "")
	wantKind(t, err, bridge.KindNotFound, bridge.TypeSessionNotFound)

	// An ID token that cannot be opened (the token key changed): logout
	// without a hint.
	res = e.login(alice)
	otherKeys, err := seal.New([][]byte{bytes.Repeat([]byte{8}, 32)})
	must(t, err)
	rekeyed := bridge.New(bridge.Options{Store: e.store, Keys: otherKeys, Providers: providers.Registry{"corp": e.idp}, Now: e.clock.Now})
	if out, err = rekeyed.SignOut(ctx, res.UserID, res.Session.ID, ""); err != nil || out.Params["id_token_hint"] != "" || out.Action == "" {
		t.Fatalf("SignOut without hint = %+v, %v", out, err)
	}

	// No end-session endpoint: nothing to do at the provider.
	e2 := newEnv(t, nil)
	res = e2.login(alice)
	if out, err = e2.svc.SignOut(ctx, res.UserID, res.Session.ID, ""); err != nil || out.URL != "" || out.Action != "" {
		t.Fatalf("SignOut = %+v, %v", out, err)
	}
	if got := e2.svc.ProviderLogoutOrigin("corp"); got != "" {
		t.Fatalf("ProviderLogoutOrigin = %q", got)
	}
	if got := e2.svc.ProviderLogoutOrigin("nope"); got != "" {
		t.Fatalf("ProviderLogoutOrigin(unknown) = %q", got)
	}
}

// basicProvider hides a fake's optional capabilities.
type basicProvider struct{ providers.Provider }

// TestBackchannelLogout: a verified logout token ends the sessions it
// names, once; every refusal says why without the token.
func TestBackchannelLogout(t *testing.T) {
	ctx := context.Background()
	claims := map[string]providers.LogoutClaims{
		"by-sid":  {SessionID: "sid-1", JTI: "j1", Expiry: t0.Add(time.Minute)},
		"by-sub":  {Subject: "alice-1", JTI: "j2", Expiry: t0.Add(time.Minute)},
		"nobody":  {Subject: "carol-1", JTI: "j3", Expiry: t0.Add(time.Minute)},
		"offline": {},
	}
	verify := func(raw string) (providers.LogoutClaims, error) {
		switch raw {
		case "offline":
			return providers.LogoutClaims{}, &providers.UnavailableError{Provider: "corp", Err: errors.New("jwks down")}
		case "odd":
			return providers.LogoutClaims{}, errors.New("odd failure")
		}
		c, ok := claims[raw]
		if !ok {
			return c, &providers.VerificationError{Check: "aud"}
		}
		return c, nil
	}
	for _, c := range []struct {
		name        string
		provider    string
		token       string
		ended       int
		reason      string // "": accepted
		unavailable bool
	}{
		{name: "by sid", provider: "corp", token: "by-sid", ended: 2},
		{name: "by sub", provider: "corp", token: "by-sub", ended: 2},
		{name: "nobody known", provider: "corp", token: "nobody"},
		{name: "unknown provider", provider: "nope", token: "by-sid", reason: "unknown provider"},
		{name: "no back-channel support", provider: "basic", token: "by-sid", reason: "does not support"},
		{name: "missing token", provider: "corp", reason: "logout_token is missing"},
		{name: "failed check", provider: "corp", token: "forged", reason: "failed the aud check"},
		{name: "keys unavailable", provider: "corp", token: "offline", reason: "keys could not be fetched", unavailable: true},
		{name: "other failure", provider: "corp", token: "odd", reason: "could not be verified", unavailable: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, func(e *env, o *bridge.Options) {
				e.idp.VerifyLogout = verify
				o.Providers["basic"] = basicProvider{e.idp}
			})
			e.login(alice)
			e.login(alice)
			n, err := e.svc.BackchannelLogout(ctx, c.provider, c.token)
			if c.reason == "" {
				if err != nil || n != c.ended || e.endedCount(lifecycle.BackchannelLogout) != c.ended {
					t.Fatalf("BackchannelLogout = %d, %v", n, err)
				}
				_, err = e.svc.BackchannelLogout(ctx, c.provider, c.token)
				c.reason, c.unavailable = "already used", false // the jti is spent
			}
			var le *bridge.LogoutError
			if !errors.As(err, &le) || !strings.Contains(le.Reason, c.reason) || le.Unavailable != c.unavailable {
				t.Fatalf("error %v, want a LogoutError with %q (unavailable %v)", err, c.reason, c.unavailable)
			}
			if !strings.Contains(err.Error(), le.Reason) || (le.Err != nil && !errors.Is(err, le.Err)) {
				t.Fatalf("Error/Unwrap of %v", err)
			}
		})
	}
}
