package bridge_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge"
	"github.com/sessionbridge/sessionbridge/bridge/lifecycle"
	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/providers"
)

// TestUserStatus: blocking stops a user's sessions at once and keeps
// them; unblocking lets them work again and wakes the refresher.
func TestUserStatus(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	res := e.login(alice)
	cred := bridge.Credential{SessionID: res.Session.ID, Secret: res.SessionSecret}
	u, err := e.svc.SetUserStatus(ctx, res.UserID, false)
	if err != nil || !u.Blocked {
		t.Fatalf("block: %+v, %v", u, err)
	}
	_, err = e.svc.Authenticate(ctx, cred)
	wantKind(t, err, bridge.KindUnauthorized, bridge.TypeUserBlocked)
	notified := len(e.refresher.notified)
	if u, err = e.svc.SetUserStatus(ctx, res.UserID, true); err != nil || u.Blocked {
		t.Fatalf("unblock: %+v, %v", u, err)
	}
	if len(e.refresher.notified) != notified+1 || !e.refresher.notified[notified].Equal(t0) {
		t.Fatalf("unblocking did not wake the refresher now: %v", e.refresher.notified)
	}
	if _, err = e.svc.Authenticate(ctx, cred); err != nil {
		t.Fatalf("the session does not work after unblocking: %v", err)
	}
	_, err = e.svc.SetUserStatus(ctx, "nope", true)
	wantKind(t, err, bridge.KindNotFound, bridge.TypeUserNotFound)
}

// TestDeleteUser: the user's sessions end as user_deleted.
func TestDeleteUser(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	res := e.login(alice)
	e.login(alice)
	must(t, e.svc.DeleteUser(ctx, res.UserID))
	if e.endedCount(lifecycle.UserDeleted) != 2 || e.sessionCount() != 0 {
		t.Fatalf("ended %d, %d sessions left", e.endedCount(lifecycle.UserDeleted), e.sessionCount())
	}
	_, err := e.svc.User(ctx, res.UserID)
	wantKind(t, err, bridge.KindNotFound, bridge.TypeUserNotFound)
	wantKind(t, e.svc.DeleteUser(ctx, res.UserID), bridge.KindNotFound, bridge.TypeUserNotFound)
	_, _, err = e.svc.CreateServerSession(ctx, res.UserID, client)
	wantKind(t, err, bridge.KindNotFound, bridge.TypeUserNotFound)
}

// TestListUsers pages users; an unknown cursor is Appwrite's cursor error.
func TestListUsers(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	e.login(alice)
	e.login(bob)
	list, total, err := e.svc.ListUsers(ctx, store.Page{Limit: 10, CountTotal: true})
	if err != nil || len(list) != 2 || total != 2 {
		t.Fatalf("ListUsers = %d, %d, %v", len(list), total, err)
	}
	_, _, err = e.svc.ListUsers(ctx, store.Page{Limit: 10, CursorAfter: "nope"})
	wantKind(t, err, bridge.KindInvalid, bridge.TypeCursorNotFound)
}

// TestSetPrefs: preferences are a JSON object, kept digit for digit.
func TestSetPrefs(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	user := e.login(alice).UserID
	for _, c := range []struct {
		name, in, want string // want "": refused
	}{
		{"object", `{ "theme": "dark", "n": 1.000000000000000000001 }`, `{"theme":"dark","n":1.000000000000000000001}`},
		{"empty object", ` {} `, `{}`},
		{"array", `[1]`, ""},
		{"empty", ``, ""},
		{"broken", `{"a":`, ""},
		{"NUL in a value", `{"a":"x\u0000y"}`, ""},
		{"NUL in a key", `{"a\u0000":1}`, ""},
		{"NUL in a nested list", `{"a":[{"b":"\u0000"}]}`, ""},
		{"escaped backslash before u0000", `{"a":"\\u0000"}`, `{"a":"\\u0000"}`},
		{"invalid UTF-8", "{\"a\":\"\xff\"}", ""},
		{"too large", `{"a":"` + strings.Repeat("x", bridge.MaxPrefsSize) + `"}`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			u, err := e.svc.SetPrefs(ctx, user, json.RawMessage(c.in))
			if c.want == "" {
				wantKind(t, err, bridge.KindInvalid, bridge.TypeArgumentInvalid)
				return
			}
			if err != nil || u.Prefs != c.want {
				t.Fatalf("SetPrefs = %q, %v; want %q", u.Prefs, err, c.want)
			}
		})
	}
	_, err := e.svc.SetPrefs(ctx, "nope", json.RawMessage(`{}`))
	wantKind(t, err, bridge.KindNotFound, bridge.TypeUserNotFound)
}

// TestSetName: a name is valid text of at most MaxNameLength characters,
// and later logins keep it.
func TestSetName(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	user := e.login(alice).UserID
	for _, c := range []struct {
		name, in string
		ok       bool
	}{
		{"plain", "Alice A.", true},
		{"longest", strings.Repeat("é", bridge.MaxNameLength), true},
		{"too long", strings.Repeat("é", bridge.MaxNameLength+1), false},
		{"NUL", "a\x00b", false},
		{"invalid UTF-8", "a\xffb", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			u, err := e.svc.SetName(ctx, user, c.in)
			if !c.ok {
				wantKind(t, err, bridge.KindInvalid, bridge.TypeArgumentInvalid)
				return
			}
			if err != nil || u.Name != c.in {
				t.Fatalf("SetName = %q, %v", u.Name, err)
			}
		})
	}
	must(t, func() error { _, err := e.svc.SetName(ctx, user, "Chosen"); return err }())
	e.login(alice)
	if u, _ := e.svc.User(ctx, user); u.Name != "Chosen" {
		t.Fatalf("a login replaced the chosen name: %q", u.Name)
	}
	_, err := e.svc.SetName(ctx, "nope", "x")
	wantKind(t, err, bridge.KindNotFound, bridge.TypeUserNotFound)
}

// TestIdentityTokens: an identity comes with its freshest live grant's
// tokens; with fresh set, a grant about to expire is renewed first.
func TestIdentityTokens(t *testing.T) {
	ctx := context.Background()
	all := store.Page{Limit: 10}
	e := newEnv(t, nil)
	first := e.login(alice)
	e.clock.Advance(time.Minute)
	second := e.login(alice) // its token expires a minute later: the freshest
	e.login(bob)
	list, total, err := e.svc.FindIdentities(ctx, store.IdentityFilter{UserIDs: []string{first.UserID}}, store.Page{Limit: 10, CountTotal: true}, false)
	if err != nil || len(list) != 1 || total != 1 {
		t.Fatalf("FindIdentities = %d, %d, %v", len(list), total, err)
	}
	wantAccess, _ := e.svc.AccessToken(second.Session)
	if got := list[0]; got.AccessToken != wantAccess || !strings.HasPrefix(got.RefreshToken, "rt-corp-") ||
		!got.AccessTokenExpiry.Equal(second.Session.AccessTokenExpiry) || got.ProviderUID != "alice-1" {
		t.Fatalf("identity tokens = %+v, want access %q", got, wantAccess)
	}

	// 55 minutes later both grants are within FreshWithin of expiry.
	e.clock.Advance(55 * time.Minute)
	list, _, err = e.svc.FindIdentities(ctx, store.IdentityFilter{Providers: []string{"corp"}}, all, false)
	if err != nil || len(list) != 2 || len(e.refresher.calls()) != 0 {
		t.Fatalf("a plain read refreshed: %d identities, %v, %d refreshes", len(list), err, len(e.refresher.calls()))
	}
	list, _, err = e.svc.FindIdentities(ctx, store.IdentityFilter{UserIDs: []string{first.UserID}}, all, true)
	if err != nil || len(list) != 1 || list[0].AccessToken != "renewed-access-1" || e.refresher.calls()[0] != second.Session.ID {
		t.Fatalf("fresh read: %+v, %v, refreshed %v", list, err, e.refresher.calls())
	}

	// The renewal ended the session: no tokens; it failed for now: an error.
	e.clock.Advance(2 * time.Hour)
	e.refresher.setErr(store.ErrNotFound)
	if list, _, err = e.svc.FindIdentities(ctx, store.IdentityFilter{UserIDs: []string{first.UserID}}, all, true); err != nil || list[0].AccessToken != "" {
		t.Fatalf("after the grant ended: %+v, %v", list, err)
	}
	e.refresher.setErr(errors.New("provider down"))
	_, _, err = e.svc.FindIdentities(ctx, store.IdentityFilter{UserIDs: []string{first.UserID}}, all, true)
	wantKind(t, err, bridge.KindUnavailable, bridge.TypeOAuth2ProviderError)

	// A blocked user's grants are not renewed, but still shown.
	_, _ = e.svc.SetUserStatus(ctx, first.UserID, false)
	before := len(e.refresher.calls())
	if list, _, err = e.svc.FindIdentities(ctx, store.IdentityFilter{UserIDs: []string{first.UserID}}, all, true); err != nil ||
		list[0].AccessToken == "" || len(e.refresher.calls()) != before {
		t.Fatalf("blocked user: %+v, %v", list, err)
	}
	_, _, err = e.svc.FindIdentities(ctx, store.IdentityFilter{}, store.Page{Limit: 1, CursorAfter: "nope"}, false)
	wantKind(t, err, bridge.KindInvalid, bridge.TypeCursorNotFound)
}

// TestDeleteIdentity: only its owner (or an API key) deletes an identity;
// the provider account's sessions end as identity_deleted.
func TestDeleteIdentity(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	a := e.login(alice)
	b := e.login(bob)
	list, _, _ := e.svc.FindIdentities(ctx, store.IdentityFilter{UserIDs: []string{a.UserID}}, store.Page{Limit: 1}, false)
	id := list[0].ID
	_, err := e.svc.DeleteIdentity(ctx, b.UserID, id)
	wantKind(t, err, bridge.KindNotFound, bridge.TypeIdentityNotFound)
	ident, err := e.svc.DeleteIdentity(ctx, a.UserID, id)
	if err != nil || ident.ID != id || e.endedCount(lifecycle.IdentityDeleted) != 1 {
		t.Fatalf("DeleteIdentity = %+v, %v", ident, err)
	}
	_, err = e.svc.DeleteIdentity(ctx, "", id)
	wantKind(t, err, bridge.KindNotFound, bridge.TypeIdentityNotFound)
	_, err = e.svc.DeleteIdentity(ctx, a.UserID, id)
	wantKind(t, err, bridge.KindNotFound, bridge.TypeIdentityNotFound)
}

// TestJWTSession: a JWT made by an API key binds to the named session or
// the user's most recent live one.
func TestJWTSession(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	old := e.login(alice)
	e.clock.Advance(time.Minute)
	recent := e.login(alice)
	for _, c := range []struct{ asked, want string }{
		{"", recent.Session.ID}, {"recent", recent.Session.ID}, {old.Session.ID, old.Session.ID},
	} {
		if sess, err := e.svc.JWTSession(ctx, old.UserID, c.asked); err != nil || sess.ID != c.want {
			t.Fatalf("JWTSession(%q) = %s, %v; want %s", c.asked, sess.ID, err, c.want)
		}
	}
	e.clock.Advance(366 * 24 * time.Hour)
	_, err := e.svc.JWTSession(ctx, old.UserID, "")
	wantKind(t, err, bridge.KindNotFound, bridge.TypeSessionNotFound)
	_, err = e.svc.JWTSession(ctx, "nope", "")
	wantKind(t, err, bridge.KindNotFound, bridge.TypeUserNotFound)
}

// TestServerSession: an API key's session has no grant and is told apart
// from a login at a provider named "server".
func TestServerSession(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	user := e.login(alice).UserID
	sess, secret, err := e.svc.CreateServerSession(ctx, user, client)
	if err != nil || secret == "" || !bridge.IsServerSession(sess) || len(sess.RefreshTokenSealed) != 0 {
		t.Fatalf("CreateServerSession = %+v, %v", sess, err)
	}
	if bridge.IsServerSession(store.Session{Provider: bridge.ServerProvider, ProviderUID: "x"}) {
		t.Fatal("a login at a provider named server counts as a server session")
	}
	if got, err := e.svc.Authenticate(ctx, bridge.Credential{SessionID: sess.ID, Secret: secret}); err != nil || got.ID != sess.ID {
		t.Fatalf("Authenticate = %v", err)
	}
}

// TestReadiness: a pending first discovery keeps the process not ready
// for PendingBound only; failing and parked providers are listed.
func TestReadiness(t *testing.T) {
	ctx := context.Background()
	pending := make(chan struct{})
	e := newEnv(t, func(e *env, o *bridge.Options) {
		e.idp.Discovered = pending
		e.refresher.parked = map[string]string{"corp": "invalid_client"}
		o.Providers["plain"] = basicProvider{e.idp}
	})
	r := e.svc.Readiness(ctx)
	if r.Ready || r.Reason != "provider discovery pending" || len(r.Providers) != 2 ||
		r.Providers[0] != (bridge.ProviderHealth{Provider: "corp", Status: "pending"}) ||
		r.Providers[1] != (bridge.ProviderHealth{Provider: "corp", Status: "parked", Error: "invalid_client"}) {
		t.Fatalf("Readiness = %+v", r)
	}
	e.clock.Advance(bridge.DefaultPendingBound)
	if r = e.svc.Readiness(ctx); !r.Ready || len(r.Providers) != 2 {
		t.Fatalf("after the pending bound: %+v", r)
	}
	close(pending)
	e.refresher.parked = nil
	if r = e.svc.Readiness(ctx); !r.Ready || len(r.Providers) != 0 || e.svc.Ready(ctx) != nil {
		t.Fatalf("all well: %+v", r)
	}
	// Discovery keeps failing: listed with the cause, still ready.
	e.idp.ReadyErr = &providers.UnavailableError{Provider: "corp", Err: errors.New("discovery: HTTP 502")}
	if r = e.svc.Readiness(ctx); !r.Ready || len(r.Providers) != 1 ||
		r.Providers[0] != (bridge.ProviderHealth{Provider: "corp", Status: "failing", Error: "discovery: HTTP 502"}) {
		t.Fatalf("failing discovery: %+v", r)
	}
	e.idp.ReadyErr = errors.New("plain")
	if r = e.svc.Readiness(ctx); len(r.Providers) != 1 || r.Providers[0].Error != "plain" {
		t.Fatalf("failing discovery: %+v", r)
	}
	// Without a refresher nothing is parked.
	bare := bridge.New(bridge.Options{Store: e.store, Keys: e.keys, Providers: providers.Registry{}})
	if got := bare.ParkedProviders(); got != nil {
		t.Fatalf("ParkedProviders = %v", got)
	}
}

// TestErrors: the error type's text keeps the cause for logs, and
// anything else is an internal failure that reveals nothing.
func TestErrors(t *testing.T) {
	cause := errors.New("disk full")
	e := bridge.AsError(cause)
	if e.Kind != bridge.KindInternal || e.Type != bridge.TypeServerError || e.Message != "Server Error" || !errors.Is(e, cause) ||
		!strings.Contains(e.Error(), "disk full") {
		t.Fatalf("AsError = %+v (%q)", e, e)
	}
	if got := bridge.ErrArgument("bad").Error(); got != "general_argument_invalid: bad" {
		t.Fatalf("Error() = %q", got)
	}
	if bridge.AsError(bridge.ErrSessionNotFound()) != bridge.ErrSessionNotFound() {
		t.Fatal("AsError wraps an *Error again")
	}
	if s := (bridge.Credential{SessionID: "s1", Secret: "top-secret"}).String(); strings.Contains(s, "top-secret") {
		t.Fatalf("Credential.String leaks the secret: %s", s)
	}
}
