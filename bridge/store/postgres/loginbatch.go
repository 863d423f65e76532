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
	"github.com/sessionbridge/sessionbridge/bridge/store/internal/sessionrow"
)

// The login of a known, active user is the common case: it is sent as
// one pipelined batch, so it costs one round trip instead of eight
// (BEGIN, find, two updates, read back, insert, cap, COMMIT) and holds
// the identity's row lock for that one round trip and the commit's WAL
// flush only, which is what concurrent logins of one user wait for. A
// batch runs in one implicit transaction: a failing statement rolls back
// the ones before it.
//
// The session's user_id is looked up in SQL from the identity, and is
// NULL when the identity is unknown or its user blocked: the insert then
// fails on the column's NOT NULL, the batch stores nothing, and
// CreateLoginSession falls back to its transaction, which creates the
// user or refuses the blocked one exactly as before.
var (
	batchTouchIdentity = `UPDATE identities SET updated_at = $1,
		email = CASE WHEN $2 = '' THEN email ELSE $2 END WHERE provider = $3 AND provider_uid = $4`
	batchTouchUser = `UPDATE users SET updated_at = $1, accessed_at = $1,
		name = CASE WHEN $2 = '' OR name_custom THEN name ELSE $2 END,
		email = CASE WHEN $3 = '' THEN email ELSE $3 END,
		email_verified = CASE WHEN $3 = '' THEN email_verified ELSE $4 END
		WHERE id = (SELECT user_id FROM identities WHERE provider = $5 AND provider_uid = $6)
		RETURNING ` + userCols
	batchInsertSession = insertLoginSessionSQL()
	batchRemoveOverCap = "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE user_id = " +
		"(SELECT user_id FROM identities WHERE provider = $1 AND provider_uid = $2) " +
		"ORDER BY created_at DESC, id DESC OFFSET $3) RETURNING " + sessionCols
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

// createKnownLoginSession is CreateLoginSession for a known, active user
// in one batch. It returns errSlowLogin, having stored nothing, for any
// other login (a first login, a re-keyed identity, a blocked user).
func (s *Store) createKnownLoginSession(ctx context.Context, in store.IdentityInput, sess *store.Session, maxPerUser int, now time.Time) (store.User, []store.Session, error) {
	if in.PreviousProviderUID != "" && in.PreviousProviderUID != in.ProviderUID {
		return store.User{}, nil, errSlowLogin
	}
	row := *sess
	row.Version = 1
	args := sessionrow.Args(&row, ts)
	args[1] = in.Provider
	args = append(args, in.ProviderUID)
	b := &pgx.Batch{}
	b.Queue(batchTouchIdentity, ts(now), in.Email, in.Provider, in.ProviderUID)
	b.Queue(batchTouchUser, ts(now), in.Name, in.Email, in.EmailVerified, in.Provider, in.ProviderUID)
	b.Queue(batchInsertSession, args...)
	b.Queue(batchRemoveOverCap, in.Provider, in.ProviderUID, maxPerUser)
	br := s.pool.SendBatch(ctx, b)
	u, removed, err := readLoginBatch(br)
	if cerr := br.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if isNotNullViolation(err) || errors.Is(err, pgx.ErrNoRows) {
		return store.User{}, nil, errSlowLogin
	}
	if err != nil {
		return store.User{}, nil, err
	}
	sess.UserID, sess.Version = u.ID, 1
	return u, removed, nil
}

// readLoginBatch reads the batch's four results in order.
func readLoginBatch(br pgx.BatchResults) (store.User, []store.Session, error) {
	if _, err := br.Exec(); err != nil {
		return store.User{}, nil, fmt.Errorf("update identity: %w", err)
	}
	u, err := scanUser(br.QueryRow())
	if err != nil {
		return store.User{}, nil, fmt.Errorf("update user: %w", err)
	}
	if _, err := br.Exec(); err != nil {
		return store.User{}, nil, fmt.Errorf("insert session: %w", err)
	}
	rows, err := br.Query()
	if err != nil {
		return store.User{}, nil, fmt.Errorf("remove sessions over cap: %w", err)
	}
	removed, err := scanSessions(rows)
	if err != nil {
		return store.User{}, nil, fmt.Errorf("remove sessions over cap: %w", err)
	}
	return u, removed, nil
}

func isNotNullViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23502"
}
