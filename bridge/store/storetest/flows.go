package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

var flowTests = []test{
	{"FlowSingleUse", testFlowSingleUse},
	{"FlowExpired", testFlowExpired},
	{"FlowConcurrentConsume", testFlowConcurrentConsume},
	{"LoginTokenSingleUse", testLoginTokenSingleUse},
	{"LoginTokenExpired", testLoginTokenExpired},
	{"LoginTokenConcurrentConsume", testLoginTokenConcurrentConsume},
	{"DeleteExpiredFlows", testDeleteExpiredFlows},
	{"ClaimChore", testClaimChore},
}

func newFlow(id string, expires time.Time) store.LoginFlow {
	return store.LoginFlow{
		ID: id, Provider: "github", Mode: "token",
		Success: "https://app.example.com/ok?x=1", Failure: "https://app.example.com/fail",
		Scopes: []string{"openid", "email", "read:user"}, CreatedAt: base, ExpiresAt: expires,
	}
}

func mustCreateFlow(t *testing.T, s store.Store, f store.LoginFlow) {
	t.Helper()
	if err := s.CreateFlow(ctx(t), f); err != nil {
		t.Fatalf("CreateFlow(%s): %v", f.ID, err)
	}
}

func testFlowSingleUse(t *testing.T, s store.Store) {
	f := newFlow("f1", base.Add(10*time.Minute))
	mustCreateFlow(t, s, f)
	noScopes := newFlow("f2", base.Add(10*time.Minute))
	noScopes.Scopes = nil
	noScopes.Mode = "session"
	mustCreateFlow(t, s, noScopes)

	got, err := s.ConsumeFlow(ctx(t), "f1", base.Add(time.Minute))
	if err != nil {
		t.Fatalf("ConsumeFlow: %v", err)
	}
	wantEqual(t, "consumed flow", f, got)
	_, err = s.ConsumeFlow(ctx(t), "f1", base.Add(time.Minute))
	wantErr(t, "second ConsumeFlow", err, store.ErrNotFound)

	got, err = s.ConsumeFlow(ctx(t), "f2", base)
	if err != nil {
		t.Fatalf("ConsumeFlow(f2): %v", err)
	}
	wantEqual(t, "flow without scopes", noScopes, got)

	_, err = s.ConsumeFlow(ctx(t), "never-created", base)
	wantErr(t, "ConsumeFlow(unknown)", err, store.ErrNotFound)
}

func testFlowExpired(t *testing.T, s store.Store) {
	mustCreateFlow(t, s, newFlow("old", base.Add(time.Minute)))
	_, err := s.ConsumeFlow(ctx(t), "old", base.Add(time.Minute+time.Millisecond))
	wantErr(t, "ConsumeFlow(expired)", err, store.ErrNotFound)
	// An expired flow stays unusable even when asked with an earlier clock.
	if _, err := s.ConsumeFlow(ctx(t), "old", base); err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ConsumeFlow after expiry: %v", err)
	}
}

func testFlowConcurrentConsume(t *testing.T, s store.Store) {
	mustCreateFlow(t, s, newFlow("race", base.Add(time.Hour)))
	winners := race(t, 16, func() error {
		_, err := s.ConsumeFlow(ctx(t), "race", base)
		return err
	})
	if winners != 1 {
		t.Fatalf("%d concurrent ConsumeFlow calls succeeded, want exactly 1", winners)
	}
}

// race runs fn from n goroutines at once and returns how many succeeded;
// every failure must be ErrNotFound.
func race(t *testing.T, n int, fn func() error) int {
	t.Helper()
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn()
		})
	}
	close(start)
	wg.Wait()
	winners := 0
	for i, err := range errs {
		switch {
		case err == nil:
			winners++
		case !errors.Is(err, store.ErrNotFound):
			t.Fatalf("racer %d: %v", i, err)
		}
	}
	return winners
}

func newLoginToken(t *testing.T, s store.Store, hash string, expires time.Time) store.LoginToken {
	t.Helper()
	uid := newUser(t, s, "tok-"+hash)
	sess := fullSession("tok-sess-"+hash, uid)
	sess.SecretHash, sess.CreatedAt, sess.Expire = nil, time.Time{}, time.Time{}
	sess.Client = store.Client{}
	tok := store.LoginToken{SecretHash: []byte("secret-" + hash + "\x00\x01"), UserID: uid, ExpiresAt: expires, Session: sess}
	if err := s.CreateLoginToken(ctx(t), tok); err != nil {
		t.Fatalf("CreateLoginToken: %v", err)
	}
	return tok
}

func testLoginTokenSingleUse(t *testing.T, s store.Store) {
	tok := newLoginToken(t, s, "a", base.Add(15*time.Minute))
	now := base.Add(time.Minute)
	_, err := s.ConsumeLoginToken(ctx(t), "other-user", tok.SecretHash, now)
	wantErr(t, "ConsumeLoginToken(wrong user)", err, store.ErrNotFound)
	_, err = s.ConsumeLoginToken(ctx(t), tok.UserID, []byte("wrong secret"), now)
	wantErr(t, "ConsumeLoginToken(wrong secret)", err, store.ErrNotFound)

	got, err := s.ConsumeLoginToken(ctx(t), tok.UserID, tok.SecretHash, now)
	if err != nil {
		t.Fatalf("ConsumeLoginToken: %v", err)
	}
	wantEqual(t, "consumed login token", tok, got)
	_, err = s.ConsumeLoginToken(ctx(t), tok.UserID, tok.SecretHash, now)
	wantErr(t, "second ConsumeLoginToken", err, store.ErrNotFound)
}

func testLoginTokenExpired(t *testing.T, s store.Store) {
	tok := newLoginToken(t, s, "b", base.Add(time.Minute))
	_, err := s.ConsumeLoginToken(ctx(t), tok.UserID, tok.SecretHash, base.Add(2*time.Minute))
	wantErr(t, "ConsumeLoginToken(expired)", err, store.ErrNotFound)
}

func testLoginTokenConcurrentConsume(t *testing.T, s store.Store) {
	tok := newLoginToken(t, s, "c", base.Add(time.Hour))
	winners := race(t, 16, func() error {
		_, err := s.ConsumeLoginToken(ctx(t), tok.UserID, tok.SecretHash, base)
		return err
	})
	if winners != 1 {
		t.Fatalf("%d concurrent ConsumeLoginToken calls succeeded, want exactly 1", winners)
	}
}

func testDeleteExpiredFlows(t *testing.T, s store.Store) {
	now := base.Add(time.Hour)
	for i, exp := range []time.Time{now.Add(-time.Hour), now.Add(-time.Millisecond), now.Add(time.Minute)} {
		mustCreateFlow(t, s, newFlow(fmt.Sprintf("f%d", i), exp))
	}
	oldTok := newLoginToken(t, s, "old", now.Add(-time.Second))
	newTok := newLoginToken(t, s, "new", now.Add(time.Minute))

	// A limit of 1 per table: two batches for the two expired flows.
	n, err := s.DeleteExpiredFlows(ctx(t), now, 1)
	if err != nil || n != 2 {
		t.Fatalf("DeleteExpiredFlows(limit 1) = %d, %v; want 2 (1 flow, 1 token)", n, err)
	}
	n, err = s.DeleteExpiredFlows(ctx(t), now, 1)
	if err != nil || n != 1 {
		t.Fatalf("second DeleteExpiredFlows(limit 1) = %d, %v; want 1", n, err)
	}
	if n, err = s.DeleteExpiredFlows(ctx(t), now, 100); err != nil || n != 0 {
		t.Fatalf("third DeleteExpiredFlows = %d, %v; want 0", n, err)
	}
	// What is left is still usable, checked at a time before expiry so
	// only the deletion can make it fail.
	early := base
	if _, err := s.ConsumeFlow(ctx(t), "f2", early); err != nil {
		t.Fatalf("unexpired flow was deleted: %v", err)
	}
	for _, id := range []string{"f0", "f1"} {
		_, err := s.ConsumeFlow(ctx(t), id, early)
		wantErr(t, "ConsumeFlow of a deleted flow "+id, err, store.ErrNotFound)
	}
	if _, err := s.ConsumeLoginToken(ctx(t), newTok.UserID, newTok.SecretHash, early); err != nil {
		t.Fatalf("unexpired login token was deleted: %v", err)
	}
	_, err = s.ConsumeLoginToken(ctx(t), oldTok.UserID, oldTok.SecretHash, early)
	wantErr(t, "ConsumeLoginToken of a deleted token", err, store.ErrNotFound)
}

// testClaimChore: of many processes asking at once, one runs the chore;
// nobody runs it again within the period; other chores are independent.
func testClaimChore(t *testing.T, s store.Store) {
	winners := race(t, 16, func() error {
		ok, err := s.ClaimChore(ctx(t), "janitor", "p", base, time.Minute)
		if err == nil && !ok {
			return store.ErrNotFound // lost: race counts only winners
		}
		return err
	})
	if winners != 1 {
		t.Fatalf("%d concurrent ClaimChore calls won, want exactly 1", winners)
	}
	for _, c := range []struct {
		chore string
		at    time.Time
		want  bool
	}{
		{"janitor", base.Add(59 * time.Second), false},
		{"other", base.Add(59 * time.Second), true},
		{"janitor", base.Add(time.Minute), true},
		{"janitor", base.Add(time.Minute + time.Second), false},
	} {
		ok, err := s.ClaimChore(ctx(t), c.chore, "q", c.at, time.Minute)
		if err != nil || ok != c.want {
			t.Fatalf("ClaimChore(%s, %v) = %v, %v; want %v", c.chore, c.at.Sub(base), ok, err, c.want)
		}
	}
}
