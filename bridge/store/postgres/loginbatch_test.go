package postgres

import (
	"errors"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// TestLoginBatchMixed commits one batch holding a known user's login, a
// blocked user's and a first login, as group commit may: the known user's
// login is stored, the other two fall back (errSlowLogin) having stored
// nothing, whichever order they come in.
func TestLoginBatchMixed(t *testing.T) {
	s := openFresh(t, testDSN(t))
	ctx := t.Context()
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	known := store.IdentityInput{Provider: "test", ProviderUID: "known"}
	blocked := store.IdentityInput{Provider: "test", ProviderUID: "blocked"}
	for _, in := range []store.IdentityInput{known, blocked} {
		if _, err := s.UpsertIdentity(ctx, in, now); err != nil {
			t.Fatal(err)
		}
	}
	b, err := s.UpsertIdentity(ctx, blocked, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetUserBlocked(ctx, b.ID, true, now); err != nil {
		t.Fatal(err)
	}
	for _, order := range [][]string{{"known", "blocked", "new"}, {"blocked", "new", "known"}} {
		var ops []*loginOp
		for _, who := range order {
			in := map[string]store.IdentityInput{"known": known, "blocked": blocked, "new": {Provider: "test", ProviderUID: "new-" + order[0]}}[who]
			sess := store.Session{ID: store.NewID(), Provider: "test", CreatedAt: now, UpdatedAt: now, Expire: now.Add(time.Hour), SecretHash: []byte("h")}
			ops = append(ops, &loginOp{Ctx: ctx, Write: &loginWrite{in: in, sess: &sess, maxPerUser: 10, now: now}})
		}
		s.runLoginBatch(ops)
		for i, who := range order {
			op := ops[i]
			_, getErr := s.GetSession(ctx, op.Write.sess.ID)
			switch who {
			case "known":
				if op.Err != nil || getErr != nil || op.Write.user.ID == "" {
					t.Fatalf("%v: known user's login: %v, stored: %v", order, op.Err, getErr)
				}
			default:
				if !errors.Is(op.Err, errSlowLogin) || getErr == nil {
					t.Fatalf("%v: %s login: %v (want errSlowLogin), stored: %v", order, who, op.Err, getErr == nil)
				}
			}
		}
	}
}
