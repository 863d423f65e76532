// Package storemetrics times every store operation for the histogram
// sessionbridge_store_operation_duration_seconds{operation}. It wraps any
// store.Store; methods added to the interface later pass through untimed
// (the embedded Store) until they are listed here.
package storemetrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// Store is a store.Store whose operations are timed.
type Store struct {
	store.Store
	hist *prometheus.HistogramVec
}

// Wrap times st's operations and registers the histogram with reg.
func Wrap(st store.Store, reg prometheus.Registerer) (*Store, error) {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "sessionbridge_store_operation_duration_seconds",
		Help:    "Time taken by store operations (successful or not), by operation.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"operation"})
	if err := reg.Register(h); err != nil {
		return nil, err
	}
	return &Store{Store: st, hist: h}, nil
}

func (s *Store) since(op string, start time.Time) {
	s.hist.WithLabelValues(op).Observe(time.Since(start).Seconds())
}

func (s *Store) UpsertIdentity(ctx context.Context, in store.IdentityInput, now time.Time) (store.User, error) {
	defer s.since("upsert_identity", time.Now())
	return s.Store.UpsertIdentity(ctx, in, now)
}

func (s *Store) GetUser(ctx context.Context, id string) (store.User, error) {
	defer s.since("get_user", time.Now())
	return s.Store.GetUser(ctx, id)
}

func (s *Store) ListIdentities(ctx context.Context, userID string) ([]store.Identity, error) {
	defer s.since("list_identities", time.Now())
	return s.Store.ListIdentities(ctx, userID)
}

func (s *Store) TouchUser(ctx context.Context, id string, now time.Time, every time.Duration) error {
	defer s.since("touch_user", time.Now())
	return s.Store.TouchUser(ctx, id, now, every)
}

func (s *Store) CreateSession(ctx context.Context, sess *store.Session) error {
	defer s.since("create_session", time.Now())
	return s.Store.CreateSession(ctx, sess)
}

func (s *Store) GetSession(ctx context.Context, id string) (store.Session, error) {
	defer s.since("get_session", time.Now())
	return s.Store.GetSession(ctx, id)
}

func (s *Store) ListSessions(ctx context.Context, userID string) ([]store.Session, error) {
	defer s.since("list_sessions", time.Now())
	return s.Store.ListSessions(ctx, userID)
}

func (s *Store) DeleteSession(ctx context.Context, id string) error {
	defer s.since("delete_session", time.Now())
	return s.Store.DeleteSession(ctx, id)
}

func (s *Store) DeleteUserSessions(ctx context.Context, userID string) (int, error) {
	defer s.since("delete_user_sessions", time.Now())
	return s.Store.DeleteUserSessions(ctx, userID)
}

func (s *Store) CompareAndSwapSession(ctx context.Context, sess *store.Session) error {
	defer s.since("compare_and_swap_session", time.Now())
	return s.Store.CompareAndSwapSession(ctx, sess)
}

func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time, limit int) ([]store.SessionRef, error) {
	defer s.since("delete_expired_sessions", time.Now())
	return s.Store.DeleteExpiredSessions(ctx, now, limit)
}

func (s *Store) ClaimDueGrants(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.Session, error) {
	defer s.since("claim_due_grants", time.Now())
	return s.Store.ClaimDueGrants(ctx, owner, now, lease, limit)
}

func (s *Store) ClaimGrant(ctx context.Context, id, owner string, now time.Time, lease time.Duration) (store.Session, error) {
	defer s.since("claim_grant", time.Now())
	return s.Store.ClaimGrant(ctx, id, owner, now, lease)
}

func (s *Store) NextRefreshAt(ctx context.Context) (time.Time, bool, error) {
	defer s.since("next_refresh_at", time.Now())
	return s.Store.NextRefreshAt(ctx)
}

func (s *Store) CountDue(ctx context.Context, now time.Time) (int, error) {
	defer s.since("count_due", time.Now())
	return s.Store.CountDue(ctx, now)
}

func (s *Store) CreateFlow(ctx context.Context, f store.LoginFlow) error {
	defer s.since("create_flow", time.Now())
	return s.Store.CreateFlow(ctx, f)
}

func (s *Store) ConsumeFlow(ctx context.Context, id string, now time.Time) (store.LoginFlow, error) {
	defer s.since("consume_flow", time.Now())
	return s.Store.ConsumeFlow(ctx, id, now)
}

func (s *Store) CreateLoginToken(ctx context.Context, t store.LoginToken) error {
	defer s.since("create_login_token", time.Now())
	return s.Store.CreateLoginToken(ctx, t)
}

func (s *Store) ConsumeLoginToken(ctx context.Context, userID string, secretHash []byte, now time.Time) (store.LoginToken, error) {
	defer s.since("consume_login_token", time.Now())
	return s.Store.ConsumeLoginToken(ctx, userID, secretHash, now)
}

func (s *Store) DeleteExpiredFlows(ctx context.Context, now time.Time, limit int) (int, error) {
	defer s.since("delete_expired_flows", time.Now())
	return s.Store.DeleteExpiredFlows(ctx, now, limit)
}

func (s *Store) ClaimChore(ctx context.Context, chore, owner string, now time.Time, every time.Duration) (bool, error) {
	defer s.since("claim_chore", time.Now())
	return s.Store.ClaimChore(ctx, chore, owner, now, every)
}

func (s *Store) ScanSessions(ctx context.Context, f store.SessionFilter, after string, limit int) ([]store.Session, error) {
	defer s.since("scan_sessions", time.Now())
	return s.Store.ScanSessions(ctx, f, after, limit)
}

func (s *Store) CountLive(ctx context.Context, now time.Time) ([]store.ProviderCount, error) {
	defer s.since("count_live", time.Now())
	return s.Store.CountLive(ctx, now)
}

func (s *Store) Ping(ctx context.Context) error {
	defer s.since("ping", time.Now())
	return s.Store.Ping(ctx)
}

func (s *Store) ListUsers(ctx context.Context, p store.Page) ([]store.User, int, error) {
	defer s.since("list_users", time.Now())
	return s.Store.ListUsers(ctx, p)
}

func (s *Store) FindIdentities(ctx context.Context, f store.IdentityFilter, p store.Page) ([]store.Identity, int, error) {
	defer s.since("find_identities", time.Now())
	return s.Store.FindIdentities(ctx, f, p)
}

func (s *Store) GetIdentity(ctx context.Context, id string) (store.Identity, error) {
	defer s.since("get_identity", time.Now())
	return s.Store.GetIdentity(ctx, id)
}

func (s *Store) DeleteIdentity(ctx context.Context, id string) (store.Identity, []store.SessionRef, error) {
	defer s.since("delete_identity", time.Now())
	return s.Store.DeleteIdentity(ctx, id)
}

func (s *Store) DeleteUser(ctx context.Context, id string) ([]store.SessionRef, error) {
	defer s.since("delete_user", time.Now())
	return s.Store.DeleteUser(ctx, id)
}

func (s *Store) SetUserBlocked(ctx context.Context, id string, blocked bool, now time.Time) (store.User, error) {
	defer s.since("set_user_blocked", time.Now())
	return s.Store.SetUserBlocked(ctx, id, blocked, now)
}

func (s *Store) SetUserPrefs(ctx context.Context, id, prefs string, now time.Time) (store.User, error) {
	defer s.since("set_user_prefs", time.Now())
	return s.Store.SetUserPrefs(ctx, id, prefs, now)
}

func (s *Store) SetUserName(ctx context.Context, id, name string, now time.Time) (store.User, error) {
	defer s.since("set_user_name", time.Now())
	return s.Store.SetUserName(ctx, id, name, now)
}

func (s *Store) CreateSessions(ctx context.Context, list []*store.Session) error {
	defer s.since("create_sessions", time.Now())
	return s.Store.CreateSessions(ctx, list)
}

func (s *Store) CreateLoginSession(ctx context.Context, in store.IdentityInput, sess *store.Session, maxPerUser int, now time.Time) (store.User, []store.Session, error) {
	defer s.since("create_login_session", time.Now())
	return s.Store.CreateLoginSession(ctx, in, sess, maxPerUser, now)
}

func (s *Store) RebindFlow(ctx context.Context, id, newID string, now time.Time) (store.LoginFlow, error) {
	defer s.since("rebind_flow", time.Now())
	return s.Store.RebindFlow(ctx, id, newID, now)
}

func (s *Store) ChangesSince(ctx context.Context, cursor string) (store.ChangeBatch, error) {
	defer s.since("changes_since", time.Now())
	return s.Store.ChangesSince(ctx, cursor)
}

func (s *Store) PruneChanges(ctx context.Context, age time.Duration) (int, error) {
	defer s.since("prune_changes", time.Now())
	return s.Store.PruneChanges(ctx, age)
}

// Unwrap returns the store st times, or st itself: optional interfaces
// of a backend (store.ChangeListener) are asserted on it.
func Unwrap(st store.Store) store.Store {
	if m, ok := st.(*Store); ok {
		return m.Store
	}
	return st
}
