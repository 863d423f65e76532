// Package store defines the persistence the bridge needs, sized for both
// the embedded SQLite backend and PostgreSQL. Backends are deliberately
// dumb: they store what they are given. Provider tokens arrive already
// sealed (bridge/seal) and session secrets as hashes; no backend ever sees
// a plaintext token or secret.
//
// Concurrency model: every session row carries a Version that each write
// increments. Writers that read-modify-write use CompareAndSwapSession,
// which fails with ErrConflict when someone else wrote in between. Token
// refreshes are protected by a lease (LeaseOwner/LeaseUntil) taken with
// ClaimDueGrants or ClaimGrant; while a grant is leased its RefreshAt equals
// LeaseUntil, so a grant abandoned by a crashed process becomes due again
// when its lease runs out.
package store

import (
	"context"
	"errors"
	"time"
)

// Errors every backend returns (wrapped or bare) so callers can use errors.Is.
var (
	ErrNotFound = errors.New("not found")
	// ErrConflict: a compare-and-swap lost against a concurrent write.
	ErrConflict = errors.New("concurrent update")
	// ErrLeased: the grant is leased by another owner whose lease has not run out.
	ErrLeased = errors.New("grant is leased by another refresher")
	// ErrUserBlocked: CreateLoginSession found the user blocked and
	// stored nothing.
	ErrUserBlocked = errors.New("user is blocked")
)

// User is a person known to the bridge. Email and Name come from the most
// recent login.
type User struct {
	ID            string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	Name          string
	Email         string
	EmailVerified bool
	AccessedAt    time.Time
	// Blocked users cannot authenticate and their grants are not
	// refreshed (Appwrite's status false).
	Blocked bool
	// Prefs is the user's preferences, a JSON object as the app wrote it;
	// "" means none ({}).
	Prefs string
}

// SessionRef names a session a delete removed, so the caller can count
// it (bridge/lifecycle) by provider.
type SessionRef struct {
	ID       string
	UserID   string
	Provider string
}

// Page selects part of a list the way Appwrite's queries do. Lists are
// ordered by creation time, then ID.
type Page struct {
	Limit  int // rows to return; <= 0 returns none
	Offset int // rows to skip after the cursor
	// CursorAfter is the ID of the row the page starts after; a cursor
	// that names no row fails with ErrNotFound.
	CursorAfter string
	// Search keeps rows one of whose text columns contains it, ignoring
	// case as the database's lower() does (SQLite: ASCII only) ("" keeps
	// all).
	Search string
	// CountTotal asks for the number of rows the filter and search match
	// (ignoring Limit, Offset and CursorAfter); otherwise total is 0.
	CountTotal bool
}

// IdentityFilter keeps identities whose user and provider are among
// these (an empty list does not filter).
type IdentityFilter struct {
	UserIDs   []string
	Providers []string
}

// Identity links a provider account to a user: (Provider, ProviderUID) is unique.
type Identity struct {
	ID          string
	UserID      string
	Provider    string
	ProviderUID string
	Email       string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// IdentityInput is what a login learned about the user.
type IdentityInput struct {
	Provider    string
	ProviderUID string
	// PreviousProviderUID is the form of ProviderUID the provider's
	// identities had before (Slack's user ID before the team was added):
	// an identity stored under it, and none under ProviderUID, is moved to
	// ProviderUID, so its user is found. "" when there is none.
	PreviousProviderUID string
	Email               string
	EmailVerified       bool
	Name                string
}

// Client describes the device a session was created from (Appwrite's
// Session device fields).
type Client struct {
	IP                  string
	OSCode              string
	OSName              string
	OSVersion           string
	ClientType          string
	ClientCode          string
	ClientName          string
	ClientVersion       string
	ClientEngine        string
	ClientEngineVersion string
	DeviceName          string
	DeviceBrand         string
	DeviceModel         string
	CountryCode         string
	CountryName         string
}

// Session is a stored session with its provider grant.
type Session struct {
	ID         string
	UserID     string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	Expire     time.Time
	SecretHash []byte // SHA-256 of the session secret; the secret itself is never stored

	Provider      string
	ProviderUID   string
	EmailVerified bool // decides Session.factors

	// Sealed provider tokens (bridge/seal); empty when absent.
	AccessTokenSealed  []byte
	RefreshTokenSealed []byte
	// AccessTokenExpiry is zero when the provider gave no expiry.
	AccessTokenExpiry time.Time
	// ProviderSID is the provider session the login belongs to (the ID
	// token's sid; "" when it had none): back-channel logout by sid. It
	// is set at creation and never changes.
	ProviderSID string
	// IDTokenSealed is the login's sealed ID token, the id_token_hint of
	// RP-initiated logout; empty when the provider gave none. Set at
	// creation and never changes.
	IDTokenSealed []byte
	// GrantData is what the provider's later requests for this grant
	// need (Zoho's accounts server); "" for most. Set at creation.
	GrantData string
	// RefreshedAt is when the provider last issued the grant's tokens (the
	// login or the last refresh); a provider's minimum refresh interval
	// counts from it. Zero for sessions stored before it was recorded.
	RefreshedAt time.Time

	// RefreshAt is when the refresher should next act on this grant; zero
	// means never (no refresh token, or no expiry). While leased it equals
	// LeaseUntil.
	RefreshAt time.Time
	// RefreshFailures counts consecutive transient refresh failures (for backoff).
	RefreshFailures int
	LeaseOwner      string
	LeaseUntil      time.Time

	Client Client

	Version int64
}

// LoginFlow is a pending authorization request, stored so that its state
// is single use and a login may finish on another instance than it began.
// Secrets of the flow (PKCE verifier, nonce) travel only in the browser's
// encrypted flow cookie, never here.
type LoginFlow struct {
	ID        string // random handle: the SHA-256 (hex) of the state, or a bind handle
	Provider  string
	Mode      string // "session" or "token"
	Success   string
	Failure   string
	Scopes    []string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// LoginToken is the single-use (userId, secret) pair of the token flow
// (GET /v1/account/tokens/oauth2): it holds the finished login until the
// app redeems it for a session.
type LoginToken struct {
	SecretHash []byte
	UserID     string
	ExpiresAt  time.Time
	// Session is the session to create. Its ID is chosen up front (the
	// sealed tokens are bound to it); Client, SecretHash, CreatedAt and
	// Expire are set at redemption.
	Session Session
}

// Store is the whole persistence surface. Every method is safe for
// concurrent use from many goroutines and many processes sharing the
// database.
type Store interface {
	Users
	Sessions
	Grants
	Flows
	Logouts
	Admin
	Housekeeping
	Changes
	// Ping reports whether the database is reachable (readiness).
	Ping(ctx context.Context) error
	Close() error
}

// Users stores users and their provider identities.
type Users interface {
	// UpsertIdentity finds the user linked to (Provider, ProviderUID) (or,
	// when absent, to (Provider, PreviousProviderUID), whose identity it
	// then re-keys to ProviderUID), creating user and identity when
	// absent, and records the latest email and name on both. It returns
	// the user after the update.
	UpsertIdentity(ctx context.Context, in IdentityInput, now time.Time) (User, error)
	GetUser(ctx context.Context, id string) (User, error)
	ListIdentities(ctx context.Context, userID string) ([]Identity, error)
	// TouchUser sets AccessedAt to now unless it is already later than
	// now-every (Appwrite updates accessedAt at most once per period), so
	// that most calls change no row. It returns ErrNotFound for an
	// unknown user.
	TouchUser(ctx context.Context, id string, now time.Time, every time.Duration) error

	// ListUsers returns a page of users and, when asked, how many match.
	// Search looks in the ID, name and email.
	ListUsers(ctx context.Context, p Page) (users []User, total int, err error)
	// FindIdentities returns a page of identities of any user and, when
	// asked, how many match. Search looks in the ID, user ID, provider,
	// provider UID and email.
	FindIdentities(ctx context.Context, f IdentityFilter, p Page) (ids []Identity, total int, err error)
	GetIdentity(ctx context.Context, id string) (Identity, error)
	// DeleteIdentity removes an identity, the sessions of that provider
	// account (with their sealed tokens) and its user's pending login
	// tokens, in one transaction. It returns the identity and the
	// sessions it removed; ErrNotFound when the identity is absent.
	DeleteIdentity(ctx context.Context, id string) (Identity, []SessionRef, error)
	// DeleteUser removes a user with its identities, sessions (and their
	// sealed tokens) and pending login tokens, in one transaction. It
	// returns the sessions it removed; ErrNotFound when the user is absent.
	DeleteUser(ctx context.Context, id string) ([]SessionRef, error)
	// SetUserBlocked writes the user's status (a write to the users row,
	// which change feeds see). Blocking also unschedules the user's
	// grants (RefreshAt zero, Version bumped, leases kept so an in-flight
	// refresh can still store a rotated token); unblocking makes every
	// unscheduled grant that has a refresh token and an expiry due at now.
	SetUserBlocked(ctx context.Context, id string, blocked bool, now time.Time) (User, error)
	// SetUserPrefs replaces the user's preferences (a JSON object).
	SetUserPrefs(ctx context.Context, id, prefs string, now time.Time) (User, error)
	// SetUserName sets the user's name; later logins no longer overwrite
	// a name set this way.
	SetUserName(ctx context.Context, id, name string, now time.Time) (User, error)
}

// Sessions stores sessions.
type Sessions interface {
	// CreateSession inserts s (ID set by the caller; Version is set to 1).
	CreateSession(ctx context.Context, s *Session) error
	// CreateSessions inserts many sessions in one transaction (imports,
	// load tests): all or none. Each Version is set to 1.
	CreateSessions(ctx context.Context, list []*Session) error
	GetSession(ctx context.Context, id string) (Session, error)
	// ListSessions returns a user's sessions, oldest first.
	ListSessions(ctx context.Context, userID string) ([]Session, error)
	// DeleteSession removes one session; ErrNotFound if absent.
	DeleteSession(ctx context.Context, id string) error
	// DeleteUserSessions removes all of a user's sessions and returns how many.
	DeleteUserSessions(ctx context.Context, userID string) (int, error)
	// CompareAndSwapSession writes every mutable field of s (Expire,
	// UpdatedAt, tokens, AccessTokenExpiry, RefreshAt, RefreshFailures,
	// lease fields, Client, EmailVerified) if the stored Version still
	// equals s.Version; on success s.Version is incremented. It returns
	// ErrConflict when the version moved and ErrNotFound when the row is gone.
	CompareAndSwapSession(ctx context.Context, s *Session) error
	// DeleteExpiredSessions removes up to limit sessions whose Expire is
	// before now, in one short transaction, and returns what it removed
	// (so callers can count and announce each ending). Users stay.
	DeleteExpiredSessions(ctx context.Context, now time.Time, limit int) ([]SessionRef, error)
	// FindProviderSessions returns the sessions of one provider whose
	// ProviderUID is uid (when uid is not "") and whose ProviderSID is sid
	// (when sid is not ""), oldest first; at least one must be given. It
	// is what a back-channel logout ends.
	FindProviderSessions(ctx context.Context, provider, uid, sid string) ([]Session, error)
	// CreateLoginSession is a finished login's writes in one transaction
	// (one commit instead of three): UpsertIdentity(in, now), then
	// CreateSession(sess) for that user (it sets sess.UserID and
	// sess.Version), then it deletes the user's oldest sessions beyond
	// maxPerUser (> 0; ListSessions order) and returns them. A blocked
	// user gets no session: ErrUserBlocked, and nothing is stored.
	CreateLoginSession(ctx context.Context, in IdentityInput, sess *Session, maxPerUser int, now time.Time) (User, []Session, error)
}

// Logouts remembers the back-channel logout tokens already used.
type Logouts interface {
	// UseLogoutToken records a logout token's jti for provider until
	// expires and reports whether it was new: false when the same
	// (provider, jti) was recorded before and has not expired at now (a
	// replay). Expired records are forgotten as it goes. Atomic across
	// every process sharing the store.
	UseLogoutToken(ctx context.Context, provider, jti string, expires, now time.Time) (bool, error)
}

// Grants are the refresh side of sessions.
type Grants interface {
	// ClaimDueGrants leases up to limit sessions whose RefreshAt is set
	// and <= now, earliest first: it sets LeaseOwner=owner,
	// LeaseUntil=RefreshAt=now+lease, bumps Version, and returns the
	// claimed rows as written. No two concurrent callers get the same row.
	ClaimDueGrants(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]Session, error)
	// ClaimGrant leases one session for an on-demand refresh, whether or
	// not it is due. It returns ErrLeased when another owner holds an
	// unexpired lease, ErrNotFound when the session is gone.
	ClaimGrant(ctx context.Context, id, owner string, now time.Time, lease time.Duration) (Session, error)
	// NextRefreshAt returns the earliest RefreshAt of all sessions, and
	// false when no session has one. It must be index-backed, not a scan.
	NextRefreshAt(ctx context.Context) (time.Time, bool, error)
	// CountDue returns how many grants have RefreshAt <= now (metrics).
	CountDue(ctx context.Context, now time.Time) (int, error)
}

// SessionFilter selects sessions for the administration commands; an
// empty field matches every session.
type SessionFilter struct {
	UserID   string
	Provider string
}

// ProviderCount is how many live sessions a provider has, and how many of
// them hold a refresh token (grants the refresher keeps fresh).
type ProviderCount struct {
	Provider string
	Sessions int
	Grants   int
}

// Admin is what the operator commands (sessions list/revoke, keys
// reseal) and the live gauges need.
type Admin interface {
	// ScanSessions returns up to limit sessions matching f whose ID is
	// greater than after, ordered by ID: a cursor over any number of rows.
	ScanSessions(ctx context.Context, f SessionFilter, after string, limit int) ([]Session, error)
	// CountLive counts, per provider, sessions whose Expire is after now
	// and those of them with a refresh token. One grouped query.
	CountLive(ctx context.Context, now time.Time) ([]ProviderCount, error)
}

// Flows stores pending logins and token-flow secrets; both are single use.
type Flows interface {
	CreateFlow(ctx context.Context, f LoginFlow) error
	// ConsumeFlow deletes and returns the flow; ErrNotFound if it is
	// absent, already consumed or expired (at now).
	ConsumeFlow(ctx context.Context, id string, now time.Time) (LoginFlow, error)
	// RebindFlow moves the unexpired flow id to newID in one atomic step
	// (the bind hop: the start handle is used up and the state takes its
	// place) and returns it as now stored; ErrNotFound if it is absent,
	// already used or expired (at now).
	RebindFlow(ctx context.Context, id, newID string, now time.Time) (LoginFlow, error)
	CreateLoginToken(ctx context.Context, t LoginToken) error
	// ConsumeLoginToken deletes and returns the token whose SecretHash
	// and UserID match; ErrNotFound if absent, used or expired.
	ConsumeLoginToken(ctx context.Context, userID string, secretHash []byte, now time.Time) (LoginToken, error)
	// DeleteExpiredFlows removes up to limit expired flows and up to limit
	// expired login tokens, in short transactions, and returns how many
	// rows it removed in all.
	DeleteExpiredFlows(ctx context.Context, now time.Time, limit int) (int, error)
}

// Housekeeping coordinates periodic cluster-wide chores (the janitor).
type Housekeeping interface {
	// ClaimChore grants owner the run of chore now when no process ran it
	// within the last every: of many processes sharing the store calling
	// at once, exactly one gets true. The claim is recorded in the store.
	ClaimChore(ctx context.Context, chore, owner string, now time.Time, every time.Duration) (bool, error)
}

// ChangeBatch is what ChangesSince found: the sessions and users written
// since the cursor (an ID may repeat), and the cursor to pass next.
type ChangeBatch struct {
	Sessions []string
	Users    []string
	// All means any session may have changed: a table was truncated, or
	// more changes were found than one batch holds (the backend then
	// names none of them). A reader drops everything it holds.
	All bool
	// More means the batch was cut short: the reader is not up to date
	// until it has called again with Cursor and got More false.
	More bool
	// Cursor is opaque: pass it to the next ChangesSince.
	Cursor string
}

// Change kinds, as the change feed's triggers write them.
const (
	ChangeSession = "s" // the session id changed or was deleted
	ChangeUser    = "u" // the user id changed or was deleted
	ChangeAll     = "*" // a table was truncated: anything may have changed
)

// Add records one change of kind (ChangeSession, ChangeUser, ChangeAll)
// in b.
func (b *ChangeBatch) Add(kind, id string) {
	switch kind {
	case ChangeUser:
		b.Users = append(b.Users, id)
	case ChangeSession:
		b.Sessions = append(b.Sessions, id)
	default: // ChangeAll, or a kind this version does not know
		b.All = true
	}
}

// Changes is the store's change feed: every write that can change what a
// session check answers (a session deleted or updated in a field a reader
// sees, a user updated other than its access stamp, or deleted, a sessions
// or users table truncated) is recorded by the database itself, whichever
// process or code path made it. Per-instance session caches
// (bridge/sessioncache) follow it.
type Changes interface {
	// ChangesSince returns the changes committed after cursor. Cursor ""
	// returns no changes, only the cursor of now. A change may be
	// reported more than once, never missed (while it is not pruned).
	ChangesSince(ctx context.Context, cursor string) (ChangeBatch, error)
	// PruneChanges deletes changes recorded more than age ago by the
	// database's own clock (the one that stamps them), so that an
	// application host's clock cannot prune changes not yet read.
	PruneChanges(ctx context.Context, age time.Duration) (int, error)
	// LocalWrites counts the write statements and commits this Store
	// value has completed. A reader that saw it unchanged since its last
	// ChangesSince knows this process wrote nothing since: this is how a
	// cache sees its own process's writes at once.
	LocalWrites() uint64
}

// ChangeListener is implemented by backends that can push a wake-up when
// changes are committed (PostgreSQL LISTEN/NOTIFY).
type ChangeListener interface {
	// ListenChanges calls wake once it listens (changes committed before
	// may have been missed: the caller polls then), and after changes
	// are committed by any process, until ctx ends or the listening connection fails (then it
	// returns the error; notifications may have been lost).
	ListenChanges(ctx context.Context, wake func()) error
}
