package postgres

import (
	"cmp"
	"context"
	"errors"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/bridge/store/internal/groupcommit"
	"github.com/sessionbridge/sessionbridge/bridge/store/internal/sessionrow"
)

// casQueue is group commit for CompareAndSwapSession, the refresher's one
// write per refresh. With synchronous_commit (the default, and what makes
// a rotated refresh token durable) each commit waits for a WAL flush, so
// a refresher finishing thousands of refreshes a second would spend its
// pool's connections waiting on flushes. Instead, the writes that queue up
// while one batch is being committed go together in the next (see
// groupcommit): one pipelined round trip (BEGIN, the UPDATEs, COMMIT) and
// one flush for many writes; a lone write is a plain autocommit UPDATE.
type casQueue = groupcommit.Queue[sessionrow.CAS]

// casOp is one queued CompareAndSwapSession.
type casOp = groupcommit.Op[sessionrow.CAS]

// runCASBatch commits a batch of casQueue; it sets every op's Err.
func (s *Store) runCASBatch(batch []*casOp) {
	live := batch[:0:0]
	for _, op := range batch {
		if op.Err = op.Ctx.Err(); op.Err == nil {
			live = append(live, op)
		}
	}
	if len(live) > 1 && s.casTogether(live) == nil {
		return
	}
	// One write, or a batch that failed as a whole (it was rolled back,
	// e.g. chosen as a deadlock victim): each write on its own.
	for _, op := range live {
		op.Err = s.casOne(op.Ctx, op.Write.ID, op.Write.Args)
	}
}

func (s *Store) casOne(ctx context.Context, id string, args []any) error {
	tag, err := s.pool.Exec(ctx, casQuery, args...)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return s.missingOr(ctx, id, store.ErrConflict)
	}
	return nil
}

// casTogether runs the batch in one transaction and pipeline. Rows are
// locked in ID order, the same in every process, so two batches cannot
// deadlock each other. It sets the ops' Err only when the transaction
// committed.
func (s *Store) casTogether(ops []*casOp) error {
	slices.SortFunc(ops, func(a, b *casOp) int { return cmp.Compare(a.Write.ID, b.Write.ID) })
	// Not cancelled with any one caller's ctx: the others' writes ride
	// on the same transaction.
	ctx := context.WithoutCancel(ops[0].Ctx)
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	for _, op := range ops {
		b.Queue(casQuery, op.Write.Args...)
	}
	b.Queue("COMMIT")
	res := s.pool.SendBatch(ctx, b)
	defer res.Close()
	if _, err := res.Exec(); err != nil {
		return err
	}
	hit := make([]bool, len(ops))
	for i := range ops {
		tag, err := res.Exec()
		if err != nil {
			return err
		}
		hit[i] = tag.RowsAffected() == 1
	}
	tag, err := res.Exec()
	if err != nil {
		return err
	}
	if tag.String() != "COMMIT" {
		return errRolledBack
	}
	if err := res.Close(); err != nil {
		return err
	}
	for i, op := range ops {
		if !hit[i] {
			op.Err = s.missingOr(op.Ctx, op.Write.ID, store.ErrConflict)
		}
	}
	return nil
}

// errRolledBack: a batch's COMMIT answered ROLLBACK (a statement failed).
var errRolledBack = errors.New("postgres: batched writes were rolled back")
