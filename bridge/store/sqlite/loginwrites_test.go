package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store/internal/codec"
)

// TestLoginBatchSavepoints commits one batch in which the middle write
// fails: it alone is rolled back, the writes around it are committed.
func TestLoginBatchSavepoints(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	flow := func(id string) func(ctx context.Context, tx *sql.Tx) error {
		return func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.StmtContext(ctx, s.stmts.createFlow).ExecContext(ctx,
				id, "test", "session", "", "", codec.EncodeScopes(nil), now.UnixMicro(), now.Add(time.Hour).UnixMicro())
			return err
		}
	}
	failing := func(ctx context.Context, tx *sql.Tx) error {
		if err := flow("c")(ctx, tx); err != nil {
			return err
		}
		return errors.New("refused after a write")
	}
	noAlone := func() error { t.Error("a write of a batch of three ran alone"); return nil }
	ops := []*loginOp{
		{Ctx: ctx, Write: loginWrite{alone: noAlone, inTx: flow("a")}},
		{Ctx: ctx, Write: loginWrite{alone: noAlone, inTx: failing}},
		{Ctx: ctx, Write: loginWrite{alone: noAlone, inTx: flow("b")}},
	}
	s.runLoginBatch(ops)
	if ops[0].Err != nil || ops[1].Err == nil || ops[2].Err != nil {
		t.Fatalf("errors %v, %v, %v; want only the second", ops[0].Err, ops[1].Err, ops[2].Err)
	}
	for id, want := range map[string]bool{"a": true, "b": true, "c": false} {
		_, err := s.ConsumeFlow(ctx, id, now)
		if got := err == nil; got != want {
			t.Errorf("flow %s stored: %v, want %v (%v)", id, got, want, err)
		}
	}
}
