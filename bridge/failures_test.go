package bridge_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge"
	"github.com/sessionbridge/sessionbridge/bridge/lifecycle"
	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// TestExtendSessionConflicts: a concurrent write makes the extension
// re-read and slide again; one that never stops is a conflict to retry.
func TestExtendSessionConflicts(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		times int
		kind  bridge.ErrorKind
		typ   string // "": extended
	}{
		{name: "two conflicts", times: 2},
		{name: "endless conflicts", kind: bridge.KindConflict, typ: bridge.TypeServerError},
	} {
		t.Run(c.name, func(t *testing.T) {
			flaky := &flakyStore{}
			e := newEnv(t, func(e *env, o *bridge.Options) { flaky.Store = o.Store; o.Store = flaky })
			e.idp.NoRefreshToken = true
			res := e.login(alice)
			e.clock.Advance(time.Hour)
			flaky.set("CompareAndSwapSession", store.ErrConflict, c.times)
			sess, err := e.svc.ExtendSession(ctx, res.UserID, res.Session.ID)
			if c.typ != "" {
				wantKind(t, err, c.kind, c.typ)
				return
			}
			if err != nil || !sess.Expire.Equal(e.clock.Now().Add(365*24*time.Hour)) {
				t.Fatalf("ExtendSession = %v, %v", sess.Expire, err)
			}
		})
	}
}

// TestStoreFailures: a store that fails makes the call fail with an
// error that AsError classifies as internal (a 500 that reveals nothing)
// and that keeps the cause for the log.
func TestStoreFailures(t *testing.T) {
	ctx := context.Background()
	down := errors.New("store down")
	for _, c := range []struct {
		method string
		call   func(e *env, res *bridge.LoginResult) error
	}{
		{"GetSession", func(e *env, res *bridge.LoginResult) error {
			_, err := e.svc.Authenticate(ctx, bridge.Credential{SessionID: res.Session.ID, Secret: res.SessionSecret})
			return err
		}},
		{"GetSession", func(e *env, res *bridge.LoginResult) error {
			_, err := e.svc.Session(ctx, res.UserID, res.Session.ID)
			return err
		}},
		{"ListSessions", func(e *env, res *bridge.LoginResult) error {
			_, err := e.svc.Sessions(ctx, res.UserID)
			return err
		}},
		{"ListSessions", func(e *env, res *bridge.LoginResult) error {
			return e.svc.DeleteSessions(ctx, res.UserID, lifecycle.SignedOut)
		}},
		{"ListSessions", func(e *env, res *bridge.LoginResult) error {
			_, err := e.svc.JWTSession(ctx, res.UserID, "")
			return err
		}},
		{"ListSessions", func(e *env, res *bridge.LoginResult) error {
			_, _, err := e.svc.FindIdentities(ctx, store.IdentityFilter{}, store.Page{Limit: 5}, false)
			return err
		}},
		{"CreateFlow", func(e *env, _ *bridge.LoginResult) error {
			_, err := e.svc.BeginLogin(ctx, bridge.LoginStart{Provider: "corp"})
			return err
		}},
		{"CreateFlow", func(e *env, _ *bridge.LoginResult) error {
			_, _, err := e.svc.BeginBoundLogin(ctx, bridge.LoginStart{Provider: "corp"})
			return err
		}},
		{"ConsumeFlow", func(e *env, _ *bridge.LoginResult) error {
			bound := e.begin(bridge.ModeSession)
			_, err := e.finish(bound, alice)
			return err
		}},
		{"UpsertIdentity", func(e *env, _ *bridge.LoginResult) error {
			_, err := e.finish(e.begin(bridge.ModeToken), alice)
			return err
		}},
		{"CompareAndSwapSession", func(e *env, res *bridge.LoginResult) error {
			e.idp.NoRefreshToken = true
			_, err := e.svc.ExtendSession(ctx, res.UserID, res.Session.ID)
			return err
		}},
	} {
		t.Run(c.method, func(t *testing.T) {
			flaky := &flakyStore{}
			e := newEnv(t, func(e *env, o *bridge.Options) { flaky.Store = o.Store; o.Store = flaky })
			res := e.login(alice)
			flaky.set(c.method, down, 0)
			err := c.call(e, res)
			if got := bridge.AsError(err); got.Kind != bridge.KindInternal || got.Message != "Server Error" || !errors.Is(err, down) {
				t.Fatalf("error %v: kind %d, message %q", err, got.Kind, got.Message)
			}
		})
	}
}

// TestBestEffortStoreFailures: the cap, revocation and abandoning a login
// never fail the call they follow.
func TestBestEffortStoreFailures(t *testing.T) {
	ctx := context.Background()
	flaky := &flakyStore{}
	e := newEnv(t, func(e *env, o *bridge.Options) { flaky.Store = o.Store; o.Store = flaky; o.MaxPerUser = 1 })
	res := e.login(alice)
	bound := e.begin(bridge.ModeSession)
	flaky.set("ConsumeFlow", errors.New("store down"), 0)
	if got := e.svc.AbandonLogin(ctx, bound.State); got != "" {
		t.Fatalf("AbandonLogin = %q", got)
	}
	flaky.set("ConsumeFlow", nil, 0)
	flaky.set("ListSessions", errors.New("store down"), 0)
	if _, _, err := e.svc.CreateServerSession(ctx, res.UserID, client); err != nil {
		t.Fatalf("a failed cap check failed the session: %v", err)
	}
	flaky.set("ListSessions", nil, 0)
	flaky.set("DeleteSession", errors.New("store down"), 0)
	if _, _, err := e.svc.CreateServerSession(ctx, res.UserID, client); err != nil {
		t.Fatalf("a failed cap removal failed the session: %v", err)
	}
}
