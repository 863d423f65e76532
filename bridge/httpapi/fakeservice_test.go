package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge"
	"github.com/sessionbridge/sessionbridge/bridge/lifecycle"
	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// domainError builds the error the domain returns for a kind of failure;
// the route tests check how the HTTP layer maps it (status, type, page).
func domainError(typ string, kind bridge.ErrorKind, msg string) *bridge.Error {
	return &bridge.Error{Type: typ, Kind: kind, Message: msg}
}

var (
	errFakeUserNotFound     = domainError(bridge.TypeUserNotFound, bridge.KindNotFound, "User with the requested ID could not be found.")
	errFakeIdentityNotFound = domainError(bridge.TypeIdentityNotFound, bridge.KindNotFound, "The identity could not be found.")
	errFakeProviderDisabled = domainError(bridge.TypeProviderDisabled, bridge.KindDisabled, "This provider is disabled.")
	errFakeStoreDown        = fmt.Errorf("store: connection refused") // not a *bridge.Error: a 500
)

// fakeService is an in-memory Service for the route tests: users,
// sessions (secret in clear), identities and pending logins, with
// per-method failures and a record of what the routes asked.
type fakeService struct {
	mu         sync.Mutex
	now        time.Time
	users      map[string]store.User
	sessions   map[string]store.Session
	secrets    map[string]string // session ID → secret
	identities []bridge.IdentityTokens
	// fail makes a method (by name) return this error.
	fail map[string]error
	// calls records "Method arg ..." in order.
	calls []string

	// Logins: starts by handle, bound flows by state, and what a callback
	// finishes as.
	providers map[string]bool
	starts    map[string]bridge.LoginStart
	flows     map[string]bridge.LoginStart // state → its start
	seq       int
	callback  bridge.CallbackInput // the last CompleteLogin input
	loginUser string               // the user a completed login signs in
	// foreign maps a state another browser started to its failure URL
	// (AbandonLogin's answer).
	foreign     map[string]string
	tokenSecret string // RedeemLoginToken's valid secret

	logout       bridge.ProviderLogout
	logoutOrigin string
	readiness    bridge.Readiness
	lastPage     store.Page
	lastFilter   store.IdentityFilter
	lastFresh    bool
}

func newFakeService(now time.Time) *fakeService {
	return &fakeService{
		now: now, users: map[string]store.User{}, sessions: map[string]store.Session{}, secrets: map[string]string{},
		fail: map[string]error{}, providers: map[string]bool{"gh": true, "corp": true},
		starts: map[string]bridge.LoginStart{}, flows: map[string]bridge.LoginStart{}, foreign: map[string]string{},
		loginUser: "u1", readiness: bridge.Readiness{Ready: true},
	}
}

// addUser stores a user.
func (f *fakeService) addUser(u store.User) store.User {
	f.mu.Lock()
	defer f.mu.Unlock()
	if u.CreatedAt.IsZero() {
		u.CreatedAt, u.UpdatedAt = f.now.Add(-48*time.Hour), f.now.Add(-time.Hour)
	}
	f.users[u.ID] = u
	return u
}

// addSession stores a live session of userID and returns it with its secret.
func (f *fakeService) addSession(id, userID, provider string) (store.Session, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := store.Session{ID: id, UserID: userID, Provider: provider, ProviderUID: "uid-" + userID,
		CreatedAt: f.now.Add(-time.Hour), UpdatedAt: f.now.Add(-time.Hour), Expire: f.now.Add(24 * time.Hour),
		AccessTokenSealed: []byte("sealed"), AccessTokenExpiry: f.now.Add(time.Hour)}
	f.sessions[id] = s
	f.secrets[id] = "secret-" + id
	return s, f.secrets[id]
}

// record notes a call and returns the failure set for method, if any.
func (f *fakeService) record(method string, args ...any) error {
	call := method
	for _, a := range args {
		call += fmt.Sprint(" ", a)
	}
	f.calls = append(f.calls, call)
	return f.fail[method]
}

func (f *fakeService) called(call string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Contains(f.calls, call)
}

func (f *fakeService) BeginLogin(_ context.Context, in bridge.LoginStart) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("BeginLogin", in.Provider, in.Mode); err != nil {
		return "", err
	}
	if !f.providers[in.Provider] {
		return "", errFakeProviderDisabled
	}
	f.seq++
	handle := fmt.Sprintf("handle%d", f.seq)
	f.starts[handle] = in
	return handle, nil
}

// bind turns a start into a bound flow and the provider's authorization URL.
func (f *fakeService) bind(in bridge.LoginStart) (bridge.BoundFlow, string) {
	f.seq++
	state := fmt.Sprintf("state%d", f.seq)
	f.flows[state] = in
	b := bridge.BoundFlow{State: state, Nonce: "nonce", Verifier: "verifier", Provider: in.Provider,
		Failure: in.Failure, ExpiresAt: f.now.Add(10 * time.Minute)}
	return b, "https://idp.example/authorize?state=" + state
}

func (f *fakeService) BeginBoundLogin(_ context.Context, in bridge.LoginStart) (bridge.BoundFlow, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("BeginBoundLogin", in.Provider, in.Mode); err != nil {
		return bridge.BoundFlow{}, "", err
	}
	if !f.providers[in.Provider] {
		return bridge.BoundFlow{}, "", errFakeProviderDisabled
	}
	b, u := f.bind(in)
	return b, u, nil
}

func (f *fakeService) BindLogin(_ context.Context, handle string) (bridge.BoundFlow, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("BindLogin", handle); err != nil {
		return bridge.BoundFlow{}, "", err
	}
	in, ok := f.starts[handle]
	if !ok {
		return bridge.BoundFlow{}, "", bridge.ErrArgument("The login link is invalid or expired.")
	}
	delete(f.starts, handle)
	b, u := f.bind(in)
	return b, u, nil
}

func (f *fakeService) CompleteLogin(_ context.Context, in bridge.CallbackInput, bound bridge.BoundFlow, _ bridge.ClientMeta) (*bridge.LoginResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.callback = in
	if err := f.record("CompleteLogin", in.Provider, in.State); err != nil {
		return nil, err
	}
	start, ok := f.flows[in.State]
	if !ok || bound.State != in.State {
		return nil, bridge.ErrArgument("The login state is invalid.")
	}
	delete(f.flows, in.State)
	if in.Error != "" {
		// As the domain does once the state validated: the provider's
		// words travel with the error (cleaned and bounded there).
		e := domainError(bridge.TypeOAuth2ProviderError, bridge.KindProviderFailed, "The "+in.Provider+" provider refused the login: "+in.Error)
		e.ProviderDescription = in.ErrorDescription
		return nil, e
	}
	res := &bridge.LoginResult{Mode: start.Mode, Success: start.Success, UserID: f.loginUser}
	if start.Mode == bridge.ModeToken {
		res.TokenSecret = "token-secret"
		return res, nil
	}
	f.seq++
	id := fmt.Sprintf("login%d", f.seq)
	f.sessions[id] = store.Session{ID: id, UserID: f.loginUser, Provider: in.Provider, CreatedAt: f.now, UpdatedAt: f.now, Expire: f.now.Add(24 * time.Hour)}
	f.secrets[id] = "secret-" + id
	res.Session, res.SessionSecret = f.sessions[id], f.secrets[id]
	return res, nil
}

func (f *fakeService) AbandonLogin(_ context.Context, state string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	_ = f.record("AbandonLogin", state)
	return f.foreign[state]
}

func (f *fakeService) LoginStateRejected(provider string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_ = f.record("LoginStateRejected", provider)
}

func (f *fakeService) RedeemLoginToken(_ context.Context, userID, secret string, _ bridge.ClientMeta) (store.Session, string, error) {
	f.mu.Lock()
	if err := f.record("RedeemLoginToken", userID); err != nil {
		f.mu.Unlock()
		return store.Session{}, "", err
	}
	ok := f.tokenSecret != "" && secret == f.tokenSecret
	f.mu.Unlock()
	if !ok {
		return store.Session{}, "", domainError(bridge.TypeInvalidToken, bridge.KindUnauthorized, "Invalid token passed in the request.")
	}
	s, sec := f.addSession("redeemed", userID, "gh")
	return s, sec, nil
}

func (f *fakeService) Authenticate(_ context.Context, c bridge.Credential) (store.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("Authenticate", c.SessionID); err != nil {
		return store.Session{}, err
	}
	s, ok := f.sessions[c.SessionID]
	if !ok || f.secrets[s.ID] != c.Secret || !s.Expire.After(f.now) {
		return store.Session{}, bridge.ErrUnauthorized()
	}
	if f.users[s.UserID].Blocked {
		return s, bridge.ErrUserBlocked()
	}
	return s, nil
}

func (f *fakeService) AuthenticateJWT(_ context.Context, userID, sessionID string) (store.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("AuthenticateJWT", userID, sessionID); err != nil {
		return store.Session{}, err
	}
	s, ok := f.sessions[sessionID]
	if !ok || s.UserID != userID {
		return store.Session{}, bridge.ErrUnauthorized()
	}
	return s, nil
}

func (f *fakeService) Sessions(_ context.Context, userID string) ([]store.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("Sessions", userID); err != nil {
		return nil, err
	}
	var out []store.Session
	for _, s := range f.sessions {
		if s.UserID == userID {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (f *fakeService) Session(_ context.Context, userID, sessionID string) (store.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("Session", userID, sessionID); err != nil {
		return store.Session{}, err
	}
	s, ok := f.sessions[sessionID]
	if !ok || s.UserID != userID {
		return store.Session{}, bridge.ErrSessionNotFound()
	}
	return s, nil
}

func (f *fakeService) Fresh(_ context.Context, sess store.Session) store.Session {
	f.mu.Lock()
	defer f.mu.Unlock()
	_ = f.record("Fresh", sess.ID)
	return sess
}

func (f *fakeService) ExtendSession(_ context.Context, userID, sessionID string) (store.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("ExtendSession", userID, sessionID); err != nil {
		return store.Session{}, err
	}
	s, ok := f.sessions[sessionID]
	if !ok || s.UserID != userID {
		return store.Session{}, bridge.ErrSessionNotFound()
	}
	s.Expire = f.now.Add(365 * 24 * time.Hour)
	f.sessions[sessionID] = s
	return s, nil
}

func (f *fakeService) DeleteSession(_ context.Context, userID, sessionID string, reason lifecycle.Reason) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("DeleteSession", userID, sessionID, reason); err != nil {
		return err
	}
	s, ok := f.sessions[sessionID]
	if !ok || s.UserID != userID {
		return bridge.ErrSessionNotFound()
	}
	delete(f.sessions, sessionID)
	return nil
}

func (f *fakeService) DeleteSessions(_ context.Context, userID string, reason lifecycle.Reason) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("DeleteSessions", userID, reason); err != nil {
		return err
	}
	for id, s := range f.sessions {
		if s.UserID == userID {
			delete(f.sessions, id)
		}
	}
	return nil
}

func (f *fakeService) CreateServerSession(_ context.Context, userID string, _ bridge.ClientMeta) (store.Session, string, error) {
	f.mu.Lock()
	err := f.record("CreateServerSession", userID)
	_, known := f.users[userID]
	f.mu.Unlock()
	if err != nil {
		return store.Session{}, "", err
	}
	if !known {
		return store.Session{}, "", errFakeUserNotFound
	}
	s, secret := f.addSession("server1", userID, bridge.ServerProvider)
	s.ProviderUID = ""
	f.mu.Lock()
	f.sessions[s.ID] = s
	f.mu.Unlock()
	return s, secret, nil
}

func (f *fakeService) JWTSession(_ context.Context, userID, sessionID string) (store.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("JWTSession", userID, sessionID); err != nil {
		return store.Session{}, err
	}
	for _, s := range f.sessions {
		if s.UserID == userID && (sessionID == "" || sessionID == "recent" || s.ID == sessionID) {
			return s, nil
		}
	}
	return store.Session{}, bridge.ErrSessionNotFound()
}

func (f *fakeService) AccessToken(sess store.Session) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("AccessToken", sess.ID); err != nil {
		return "", err
	}
	return "access-" + sess.ID, nil
}

func (f *fakeService) Tokens(sess store.Session) (string, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("Tokens", sess.ID); err != nil {
		return "", "", err
	}
	return "access-" + sess.ID, "refresh-" + sess.ID, nil
}

func (f *fakeService) User(_ context.Context, userID string) (store.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("User", userID); err != nil {
		return store.User{}, err
	}
	u, ok := f.users[userID]
	if !ok {
		return u, errFakeUserNotFound
	}
	return u, nil
}

func (f *fakeService) ListUsers(_ context.Context, p store.Page) ([]store.User, int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastPage = p
	if err := f.record("ListUsers"); err != nil {
		return nil, 0, err
	}
	out := make([]store.User, 0, len(f.users))
	for _, u := range f.users {
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	total := len(out)
	if p.Limit > 0 && len(out) > p.Limit {
		out = out[:p.Limit]
	}
	return out, total, nil
}

// updateUser applies change to a stored user.
func (f *fakeService) updateUser(method, userID string, change func(*store.User)) (store.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(method, userID); err != nil {
		return store.User{}, err
	}
	u, ok := f.users[userID]
	if !ok {
		return u, errFakeUserNotFound
	}
	change(&u)
	f.users[userID] = u
	return u, nil
}

func (f *fakeService) SetUserStatus(_ context.Context, userID string, active bool) (store.User, error) {
	return f.updateUser("SetUserStatus", userID, func(u *store.User) { u.Blocked = !active })
}

func (f *fakeService) SetName(_ context.Context, userID, name string) (store.User, error) {
	return f.updateUser("SetName", userID, func(u *store.User) { u.Name = name })
}

func (f *fakeService) SetPrefs(_ context.Context, userID string, prefs json.RawMessage) (store.User, error) {
	if !json.Valid(prefs) || prefs[0] != '{' {
		return store.User{}, bridge.ErrArgument("Invalid `prefs` param: Value must be a valid object.")
	}
	return f.updateUser("SetPrefs", userID, func(u *store.User) { u.Prefs = string(prefs) })
}

func (f *fakeService) DeleteUser(_ context.Context, userID string) error {
	_, err := f.updateUser("DeleteUser", userID, func(*store.User) {})
	if err == nil {
		f.mu.Lock()
		delete(f.users, userID)
		f.mu.Unlock()
	}
	return err
}

func (f *fakeService) FindIdentities(_ context.Context, filter store.IdentityFilter, p store.Page, fresh bool) ([]bridge.IdentityTokens, int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastFilter, f.lastPage, f.lastFresh = filter, p, fresh
	if err := f.record("FindIdentities"); err != nil {
		return nil, 0, err
	}
	var out []bridge.IdentityTokens
	for _, i := range f.identities {
		if (len(filter.UserIDs) == 0 || slices.Contains(filter.UserIDs, i.UserID)) &&
			(len(filter.Providers) == 0 || slices.Contains(filter.Providers, i.Provider)) {
			out = append(out, i)
		}
	}
	return out, len(out), nil
}

func (f *fakeService) DeleteIdentity(_ context.Context, ownerID, identityID string) (store.Identity, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("DeleteIdentity", ownerID, identityID); err != nil {
		return store.Identity{}, err
	}
	for n, i := range f.identities {
		if i.ID == identityID && (ownerID == "" || i.UserID == ownerID) {
			f.identities = slices.Delete(f.identities, n, n+1)
			for id, s := range f.sessions {
				if s.Provider == i.Provider && s.ProviderUID == i.ProviderUID {
					delete(f.sessions, id)
				}
			}
			return i.Identity, nil
		}
	}
	return store.Identity{}, errFakeIdentityNotFound
}

func (f *fakeService) SignOut(_ context.Context, userID, sessionID, redirect string) (bridge.ProviderLogout, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("SignOut", userID, sessionID, redirect); err != nil {
		return bridge.ProviderLogout{}, err
	}
	s, ok := f.sessions[sessionID]
	if !ok || s.UserID != userID {
		return bridge.ProviderLogout{}, bridge.ErrSessionNotFound()
	}
	delete(f.sessions, sessionID)
	return f.logout, nil
}

func (f *fakeService) BackchannelLogout(_ context.Context, provider, rawToken string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("BackchannelLogout", provider, rawToken); err != nil {
		return 0, err
	}
	return 1, nil
}

func (f *fakeService) ProviderLogoutOrigin(provider string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	_ = f.record("ProviderLogoutOrigin", provider)
	return f.logoutOrigin
}

func (f *fakeService) Readiness(context.Context) bridge.Readiness {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.readiness
}

var _ Service = (*fakeService)(nil)
