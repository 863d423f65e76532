package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/bridge/store/internal/groupcommit"
	"github.com/sessionbridge/sessionbridge/bridge/store/internal/sessionrow"
)

// casQueue is group commit for CompareAndSwapSession, the refresher's one
// write per refresh. In WAL mode most of a small write's cost is its
// commit (appending the changed pages to the log), and SQLite has one
// writer at a time, so under load the writes queue anyway. Instead of
// committing each, the writes that queued up while one batch was being
// committed go together in the next transaction (see groupcommit): one
// commit for many writes, at no extra latency when there is no queue (a
// lone write is a plain autocommit UPDATE). A batch is bounded by the
// busy timeout.
type casQueue = groupcommit.Queue[sessionrow.CAS]

// casLinger is the casQueue's Linger. The refresher gives its request
// slot back before it writes the result, so a write that waits a moment
// for the next ones delays no request; a session's PATCH, the other
// caller, may wait up to this much more while the refresher is busy.
// Without it, at 3,000 refreshes a second each write found the writer
// idle and paid a commit of its own (the log append of the pages it
// shares with the others, the shm locks).
const casLinger = time.Millisecond

// casOp is one queued CompareAndSwapSession.
type casOp = groupcommit.Op[sessionrow.CAS]

// runCASBatch commits a batch of casQueue; it sets every op's Err.
func (s *Store) runCASBatch(batch []*casOp) {
	if len(batch) == 1 {
		op := batch[0]
		n, err := s.execStmt(op.Ctx, s.stmts.casSession, op.Write.Args...)
		if err == nil && n != 1 {
			err = s.missingOr(op.Ctx, nil, op.Write.ID, store.ErrConflict)
		}
		op.Err = err
		return
	}
	// Statements inside the transaction run without cancellation: an
	// interrupted statement would roll back the whole transaction, and
	// with it the other callers' writes. A caller whose ctx is already
	// done is skipped.
	ctx := context.WithoutCancel(batch[0].Ctx)
	err := s.write(ctx, func(tx *sql.Tx) error {
		stmt := tx.StmtContext(ctx, s.stmts.casSession)
		for _, op := range batch {
			if op.Err = op.Ctx.Err(); op.Err != nil {
				continue
			}
			var n int
			n, op.Err = rowsAffected(stmt.ExecContext(ctx, op.Write.Args...))
			if op.Err == nil && n != 1 {
				op.Err = s.missingOr(ctx, tx, op.Write.ID, store.ErrConflict)
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
