package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/sessionbridge/sessionbridge/bridge/store/internal/groupcommit"
)

// loginWrite is one write of the login path (a flow created or consumed,
// a login's user and session) queued for group commit. SQLite has one
// writer at a time, so concurrent logins queue for it anyway; the writes
// that queued while one batch was being committed go together in the next
// transaction, each inside its own savepoint (a failed one, such as a
// blocked user's login or a replayed state, is rolled back alone): one
// commit, and one log append of the pages they share, for all of them. A
// lone write runs as before, with no extra statement and no extra latency.
type loginWrite struct {
	// alone runs the write by itself (it takes the writer mutex).
	alone func() error
	// inTx runs the write inside the batch's transaction, with ctx.
	inTx func(ctx context.Context, tx *sql.Tx) error
}

type (
	loginQueue = groupcommit.Queue[loginWrite]
	loginOp    = groupcommit.Op[loginWrite]
)

// writeLogin queues w on the login queue and returns its outcome.
func (s *Store) writeLogin(ctx context.Context, w loginWrite) error {
	return s.logins.Do(ctx, w, s.runLoginBatch)
}

// runLoginBatch commits a batch of the login queue; it sets every op's Err.
func (s *Store) runLoginBatch(batch []*loginOp) {
	if len(batch) == 1 {
		batch[0].Err = batch[0].Write.alone()
		return
	}
	// As in runCASBatch: no cancellation inside the shared transaction;
	// a caller whose ctx is already done is skipped.
	ctx := context.WithoutCancel(batch[0].Ctx)
	err := s.write(ctx, func(tx *sql.Tx) error {
		for _, op := range batch {
			if op.Err = op.Ctx.Err(); op.Err == nil {
				op.Err = s.inSavepoint(ctx, tx, op.Write.inTx)
			}
		}
		return nil
	})
	if err != nil {
		for _, op := range batch {
			op.Err = err
		}
	}
}

// inSavepoint runs fn inside a savepoint of tx, rolled back when fn fails.
func (s *Store) inSavepoint(ctx context.Context, tx *sql.Tx, fn func(ctx context.Context, tx *sql.Tx) error) error {
	if _, err := tx.StmtContext(ctx, s.stmts.savepoint).ExecContext(ctx); err != nil {
		return fmt.Errorf("sqlite: savepoint: %w", err)
	}
	err := fn(ctx, tx)
	if err != nil {
		if _, rerr := tx.StmtContext(ctx, s.stmts.rollbackToSavepoint).ExecContext(ctx); rerr != nil {
			return fmt.Errorf("sqlite: rollback to savepoint: %w (after %w)", rerr, err)
		}
	}
	if _, rerr := tx.StmtContext(ctx, s.stmts.releaseSavepoint).ExecContext(ctx); rerr != nil && err == nil {
		err = fmt.Errorf("sqlite: release savepoint: %w", rerr)
	}
	return err
}
