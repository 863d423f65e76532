package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/bridge/store/internal/groupcommit"
	"github.com/sessionbridge/sessionbridge/bridge/store/internal/sessionrow"
)

// The login of a known, active user is the common case: it is sent as
// one pipelined batch of four statements, so it costs one round trip
// instead of eight (BEGIN, find, two updates, read back, insert, cap,
// COMMIT), and logins that arrive while one is being committed share the
// next batch (group commit, see loginQueue): one round trip, one WAL flush
// and one change notification for all of them. A batch runs in one
// implicit transaction: a failing statement rolls back all of it.
//
// The session goes first, its user_id looked up in SQL from the identity:
// NULL when the identity is unknown or its user blocked, so the insert
// fails on the column's NOT NULL, the batch stores nothing, and
// CreateLoginSession falls back to its transaction, which creates the
// user or refuses the blocked one exactly as before. Once the session is
// in, its foreign key holds the user row until the commit; the user's
// update and the cap find the user through the new session.
var (
	batchInsertSession = insertLoginSessionSQL()
	batchTouchIdentity = touchIdentitySQL + "provider = $3 AND provider_uid = $4"
	batchTouchUser     = touchUserSQL + "id = (SELECT user_id FROM sessions WHERE id = $5) RETURNING " + userCols
	batchRemoveOverCap = overCapSQL("(SELECT user_id FROM sessions WHERE id = $1)")
)

// insertLoginSessionSQL is the session INSERT of the batch: the columns in
// sessionrow.Args order, with user_id ($2, given the provider) taken from
// the identity (provider $2, provider_uid the last parameter) when its
// user is active.
func insertLoginSessionSQL() string {
	n := strings.Count(sessionCols, ",") + 1
	values := strings.Split(placeholders(n), ", ")
	values[1] = "(SELECT u.id FROM users u WHERE u.status AND u.id = " +
		"(SELECT i.user_id FROM identities i WHERE i.provider = $2 AND i.provider_uid = $" + strconv.Itoa(n+1) + "))"
	return "INSERT INTO sessions (" + sessionCols + ") VALUES (" + strings.Join(values, ", ") + ")"
}

// errSlowLogin: the batch stored nothing; the login needs the transaction.
var errSlowLogin = errors.New("login needs the transaction")

// loginWrite is one queued login and, once committed, its outcome.
type loginWrite struct {
	in         store.IdentityInput
	sess       *store.Session
	maxPerUser int
	now        time.Time

	user    store.User
	removed []store.Session
}

type (
	loginQueue = groupcommit.Queue[*loginWrite]
	loginOp    = groupcommit.Op[*loginWrite]
)

// createKnownLoginSession is CreateLoginSession for a known, active user
// through the group-commit queue. It returns errSlowLogin, having stored
// nothing, for any other login (a first login, a re-keyed identity, a
// blocked user).
func (s *Store) createKnownLoginSession(ctx context.Context, in store.IdentityInput, sess *store.Session, maxPerUser int, now time.Time) (store.User, []store.Session, error) {
	if in.PreviousProviderUID != "" && in.PreviousProviderUID != in.ProviderUID {
		return store.User{}, nil, errSlowLogin
	}
	w := &loginWrite{in: in, sess: sess, maxPerUser: maxPerUser, now: now}
	if err := s.logins.Do(ctx, w, s.runLoginBatch); err != nil {
		return store.User{}, nil, err
	}
	sess.UserID, sess.Version = w.user.ID, 1
	return w.user, w.removed, nil
}

// runLoginBatch commits a batch of loginQueue; it sets every op's Err. A
// batch of several logins is one transaction: when one of them fails, each
// is sent again alone, so only that one fails (or falls back).
func (s *Store) runLoginBatch(batch []*loginOp) {
	if len(batch) > 1 && s.sendLogins(context.WithoutCancel(batch[0].Ctx), batch) == nil {
		return
	}
	for _, op := range batch {
		if op.Err = op.Ctx.Err(); op.Err == nil {
			op.Err = s.sendLogins(op.Ctx, []*loginOp{op})
		}
	}
}

// sendLogins sends ops' statements as one batch (one implicit
// transaction) and reads their results; it sets every sent op's Err and
// returns the batch's error. An op whose Ctx is done is skipped.
func (s *Store) sendLogins(ctx context.Context, ops []*loginOp) error {
	b := &pgx.Batch{}
	var sent []*loginOp
	for _, op := range ops {
		if op.Err = op.Ctx.Err(); op.Err != nil {
			continue
		}
		op.Write.queue(b)
		sent = append(sent, op)
	}
	if len(sent) == 0 {
		return nil
	}
	br := s.pool.SendBatch(ctx, b)
	var err error
	for _, op := range sent {
		if err = op.Write.read(br); err != nil {
			break
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if isNotNullViolation(err) {
		err = errSlowLogin
	}
	for _, op := range sent {
		op.Err = err
	}
	return err
}

// queue adds the login's four statements to b.
func (w *loginWrite) queue(b *pgx.Batch) {
	row := *w.sess
	row.Version = 1
	args := sessionrow.Args(&row, ts)
	args[1] = w.in.Provider
	args = append(args, w.in.ProviderUID)
	b.Queue(batchInsertSession, args...)
	b.Queue(batchTouchIdentity, ts(w.now), w.in.Email, w.in.Provider, w.in.ProviderUID)
	b.Queue(batchTouchUser, ts(w.now), w.in.Name, w.in.Email, w.in.EmailVerified, w.sess.ID)
	b.Queue(batchRemoveOverCap, w.sess.ID, w.maxPerUser)
}

// read reads the login's four results in order.
func (w *loginWrite) read(br pgx.BatchResults) error {
	if _, err := br.Exec(); err != nil {
		return fmt.Errorf("insert session: %w", err)
	}
	if _, err := br.Exec(); err != nil {
		return fmt.Errorf("update identity: %w", err)
	}
	u, err := scanUser(br.QueryRow())
	if err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	rows, err := br.Query()
	if err != nil {
		return fmt.Errorf("remove sessions over cap: %w", err)
	}
	removed, err := scanSessions(rows)
	if err != nil {
		return fmt.Errorf("remove sessions over cap: %w", err)
	}
	w.user, w.removed = u, removed
	return nil
}

func isNotNullViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23502"
}
