package bridge

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/sessionbridge/sessionbridge/bridge/lifecycle"
	"github.com/sessionbridge/sessionbridge/bridge/seal"
	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/providers"
)

// Login modes: a session cookie (createOAuth2Session) or a single-use
// userId/secret pair handed to the app (createOAuth2Token).
const (
	ModeSession = "session"
	ModeToken   = "token"
)

// LoginStart is a request to begin a login. Success and Failure must
// already be checked against the redirect allow-list.
type LoginStart struct {
	Provider string
	Mode     string
	Success  string
	Failure  string
	Scopes   []string
}

// BoundFlow holds a login's browser-side secrets. It travels only inside
// the browser's encrypted, short-lived flow cookie; the store keeps just
// the hash of State.
type BoundFlow struct {
	State     string
	Nonce     string
	Verifier  string
	Provider  string
	Failure   string
	ExpiresAt time.Time
}

// String redacts the secrets.
func (b BoundFlow) String() string {
	return fmt.Sprintf("BoundFlow{provider:%s expires:%s}", b.Provider, b.ExpiresAt.Format(time.RFC3339))
}

// CallbackInput is what arrived at the callback route.
type CallbackInput struct {
	Provider         string
	State            string
	Code             string
	Iss              string
	HasIss           bool
	Error            string // the provider's "error" parameter, if it refused
	ErrorDescription string
	Form             map[string][]string
}

// ClientMeta describes the HTTP client behind a request.
type ClientMeta struct {
	IP        string
	UserAgent string
}

// LoginResult is a finished login.
type LoginResult struct {
	Mode    string
	Success string
	UserID  string
	// Session and SessionSecret are set in session mode.
	Session       store.Session
	SessionSecret string
	// TokenSecret is set in token mode: the single-use secret for
	// POST /v1/account/sessions/token.
	TokenSecret string
}

// BeginLogin records a pending login and returns the single-use handle
// that the browser presents at the bind hop (see BindLogin).
func (s *Service) BeginLogin(ctx context.Context, in LoginStart) (string, error) {
	if _, err := s.provider(in.Provider); err != nil {
		return "", err
	}
	if in.Mode != ModeToken {
		in.Mode = ModeSession
	}
	handle := randomString(32)
	now := s.now()
	err := s.o.Store.CreateFlow(ctx, store.LoginFlow{
		ID: flowID(handle), Provider: in.Provider, Mode: in.Mode,
		Success: in.Success, Failure: in.Failure, Scopes: in.Scopes,
		CreatedAt: now, ExpiresAt: now.Add(s.o.FlowTTL),
	})
	if err != nil {
		return "", fmt.Errorf("store login flow: %w", err)
	}
	return handle, nil
}

// BeginBoundLogin starts a login in the browser that will finish it (a
// top-level navigation to the start route): no bind hop is needed, so the
// flow is stored at once under its state and the caller sets the flow
// cookie and redirects to the returned authorization URL. One store write
// and one browser round trip fewer than BeginLogin and BindLogin.
func (s *Service) BeginBoundLogin(ctx context.Context, in LoginStart) (BoundFlow, string, error) {
	p, err := s.provider(in.Provider)
	if err != nil {
		return BoundFlow{}, "", err
	}
	if in.Mode != ModeToken {
		in.Mode = ModeSession
	}
	now := s.now()
	bound := BoundFlow{State: randomString(32), Nonce: randomString(32), Verifier: randomString(48),
		Provider: in.Provider, Failure: in.Failure, ExpiresAt: now.Add(s.o.FlowTTL)}
	s.waitFirstDiscovery(ctx, p)
	authURL, err := p.AuthCodeURL(ctx, s.authRequest(bound, in.Scopes))
	if err != nil {
		s.o.Metrics.loginFailed(in.Provider, err)
		return bound, "", providerFailure(in.Provider, err)
	}
	err = s.o.Store.CreateFlow(ctx, store.LoginFlow{
		ID: flowID(bound.State), Provider: in.Provider, Mode: in.Mode,
		Success: in.Success, Failure: in.Failure, Scopes: in.Scopes,
		CreatedAt: now, ExpiresAt: bound.ExpiresAt,
	})
	if err != nil {
		return bound, "", fmt.Errorf("store login state: %w", err)
	}
	s.o.Metrics.loginStarted(in.Provider)
	return bound, authURL, nil
}

// BindLogin consumes a begin handle in the browser that will finish the
// login, creates the login's state, nonce and PKCE verifier, and returns
// them with the provider's authorization URL. The failure URL of the flow
// is returned even when binding fails, so the caller can redirect there.
func (s *Service) BindLogin(ctx context.Context, handle string) (BoundFlow, string, error) {
	bound := BoundFlow{State: randomString(32), Nonce: randomString(32), Verifier: randomString(48)}
	// One write: the handle is used up and the state takes its place.
	flow, err := s.o.Store.RebindFlow(ctx, flowID(handle), flowID(bound.State), s.now())
	if errors.Is(err, store.ErrNotFound) {
		return BoundFlow{}, "", newError(KindInvalid, TypeArgumentInvalid,
			"This login link has expired or was already used. Start the login again.", nil)
	}
	if err != nil {
		return BoundFlow{}, "", fmt.Errorf("bind login flow: %w", err)
	}
	bound.Provider, bound.Failure, bound.ExpiresAt = flow.Provider, flow.Failure, flow.ExpiresAt
	p, err := s.provider(flow.Provider)
	if err != nil {
		return bound, "", err
	}
	s.waitFirstDiscovery(ctx, p)
	authURL, err := p.AuthCodeURL(ctx, s.authRequest(bound, flow.Scopes))
	if err != nil {
		s.o.Metrics.loginFailed(flow.Provider, err)
		return bound, "", providerFailure(flow.Provider, err)
	}
	s.o.Metrics.loginStarted(flow.Provider)
	return bound, authURL, nil
}

// authRequest is a login's request to its provider. It names no redirect
// URL: each provider was opened with the callback URL registered for it.
func (s *Service) authRequest(b BoundFlow, scopes []string) providers.AuthRequest {
	return providers.AuthRequest{State: b.State, Nonce: b.Nonce, CodeVerifier: b.Verifier, Scopes: scopes}
}

// FindBound returns the pending flow whose state matches, comparing in
// constant time.
func FindBound(pending []BoundFlow, state string) (BoundFlow, bool) {
	var found BoundFlow
	ok := false
	for _, b := range pending {
		if state != "" && subtle.ConstantTimeCompare([]byte(b.State), []byte(state)) == 1 {
			found, ok = b, true
		}
	}
	return found, ok
}

// AbandonLogin ends the pending login whose state a callback presented
// without the browser binding (the flow cookie) that started it, and
// returns its failure URL ("" when the state is unknown). Ending it means
// a state or code that leaked to another browser cannot be used later.
func (s *Service) AbandonLogin(ctx context.Context, state string) string {
	if state == "" || len(state) > 512 {
		return ""
	}
	flow, err := s.o.Store.ConsumeFlow(ctx, flowID(state), s.now())
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.o.Logger.Warn("abandon login", "err", err)
		}
		return ""
	}
	s.o.Logger.Info("login abandoned: state presented by another browser", "provider", flow.Provider)
	return flow.Failure
}

var errorCodePattern = regexp.MustCompile(`^[a-z0-9_.-]{1,64}$`)

// maxDescription bounds the provider's error_description shown to a user.
const maxDescription = 300

// cleanDescription makes a provider's error_description fit to show: one
// line of printable text, at most maxDescription characters.
func cleanDescription(s string) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || !unicode.IsPrint(r)
	}), " ")
	if r := []rune(s); len(r) > maxDescription {
		s = string(r[:maxDescription-1]) + "…"
	}
	return s
}

// CompleteLogin finishes a login at the callback. bound is the browser's
// flow whose state matched the callback (see FindBound). Every check that
// can fail without the provider happens before the token request.
func (s *Service) CompleteLogin(ctx context.Context, in CallbackInput, bound BoundFlow, client ClientMeta) (*LoginResult, error) {
	res, err := s.completeLogin(ctx, in, bound, client)
	if err != nil {
		s.o.Metrics.loginFailed(s.metricProvider(in.Provider), err)
	} else {
		s.o.Metrics.loginCompleted(in.Provider)
	}
	return res, err
}

func (s *Service) completeLogin(ctx context.Context, in CallbackInput, bound BoundFlow, client ClientMeta) (*LoginResult, error) {
	now := s.now()
	if bound.Provider != in.Provider {
		return nil, errStateInvalid
	}
	flow, err := s.o.Store.ConsumeFlow(ctx, flowID(in.State), now)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errStateInvalid
	}
	if err != nil {
		return nil, fmt.Errorf("consume login state: %w", err)
	}
	if flow.Provider != in.Provider {
		return nil, errStateInvalid
	}
	if in.Error != "" {
		code := in.Error
		if !errorCodePattern.MatchString(code) {
			code = "unknown_error"
		}
		e := newError(KindProviderFailed, TypeOAuth2ProviderError,
			fmt.Sprintf("The %s provider refused the login: %s", in.Provider, code), errProviderRefused)
		e.ProviderDescription = cleanDescription(in.ErrorDescription)
		return nil, e
	}
	if in.Code == "" {
		return nil, newError(KindInvalid, TypeArgumentInvalid, "The callback carries no authorization code.", nil)
	}
	p, err := s.provider(in.Provider)
	if err != nil {
		return nil, err
	}
	login, err := p.Exchange(ctx, providers.Callback{Code: in.Code, Iss: in.Iss, HasIss: in.HasIss, Form: in.Form},
		s.authRequest(bound, flow.Scopes))
	if err != nil {
		return nil, providerFailure(in.Provider, err)
	}
	if login.Identity.Subject == "" {
		return nil, newError(KindProviderFailed, TypeOAuth2BadResponse,
			"The provider did not identify the user.", nil)
	}
	ident := store.IdentityInput{
		Provider: in.Provider, ProviderUID: login.Identity.Subject, PreviousProviderUID: login.Identity.PreviousSubject,
		Email: login.Identity.Email, EmailVerified: login.Identity.EmailVerified, Name: login.Identity.Name,
	}
	draft, err := s.draftSession(in.Provider, login, now)
	if err != nil {
		return nil, err
	}
	if flow.Mode == ModeToken {
		return s.storeLoginToken(ctx, in.Provider, login.Identity, draft, flow.Success, now)
	}
	res := &LoginResult{Mode: flow.Mode, Success: flow.Success}
	res.Session, res.SessionSecret, err = s.createLoginSession(ctx, ident, draft, client)
	if errors.Is(err, store.ErrUserBlocked) {
		// The transaction stored nothing: record the identity as every
		// login does, and refuse.
		if _, err = s.loginUser(ctx, in.Provider, login.Identity, now); err == nil {
			err = ErrUserBlocked()
		}
		return nil, err
	}
	res.UserID = res.Session.UserID
	return res, err
}

// storeLoginToken keeps a token-mode login's drafted session behind a
// single-use secret until the app redeems it.
func (s *Service) storeLoginToken(ctx context.Context, provider string, id providers.Identity, draft store.Session, success string, now time.Time) (*LoginResult, error) {
	user, err := s.loginUser(ctx, provider, id, now)
	if err != nil {
		return nil, err
	}
	draft.UserID = user.ID
	secret := randomString(32)
	err = s.o.Store.CreateLoginToken(ctx, store.LoginToken{
		SecretHash: hashSecret(secret), UserID: user.ID, ExpiresAt: now.Add(s.o.TokenTTL), Session: draft,
	})
	if err != nil {
		return nil, fmt.Errorf("store login token: %w", err)
	}
	return &LoginResult{Mode: ModeToken, Success: success, UserID: user.ID, TokenSecret: secret}, nil
}

// loginUser records the identity a login proved and returns its user,
// refusing a blocked one with ErrUserBlocked.
func (s *Service) loginUser(ctx context.Context, provider string, id providers.Identity, now time.Time) (store.User, error) {
	user, err := s.o.Store.UpsertIdentity(ctx, store.IdentityInput{
		Provider: provider, ProviderUID: id.Subject, PreviousProviderUID: id.PreviousSubject, Email: id.Email,
		EmailVerified: id.EmailVerified, Name: id.Name,
	}, now)
	if err != nil {
		return store.User{}, fmt.Errorf("store user: %w", err)
	}
	if user.Blocked {
		s.o.Logger.Info("login refused: user blocked", "user", user.ID, "provider", provider)
		return store.User{}, ErrUserBlocked()
	}
	return user, nil
}

var errStateInvalid = newError(KindInvalid, TypeArgumentInvalid,
	"The login state is missing, invalid, expired or was already used. Start the login again.", nil)

// providerFailure turns a provider error into an Appwrite error whose
// message names the failed check or the provider's error code, never a secret.
func providerFailure(provider string, err error) error {
	var unavailable *providers.UnavailableError
	var verification *providers.VerificationError
	var oauthErr *providers.OAuthError
	switch {
	case errors.As(err, &unavailable):
		return newError(KindUnavailable, TypeOAuth2ProviderError,
			fmt.Sprintf("The %s provider is unavailable right now; try again shortly.", provider), err)
	case errors.As(err, &verification):
		return newError(KindUnauthorized, TypeOAuth2Unauthorized,
			fmt.Sprintf("The %s provider's answer failed verification (%s).", provider, verification.Check), err)
	case errors.As(err, &oauthErr):
		// The code comes from the provider: only a well-formed RFC 6749
		// error code is repeated (it reaches the failure URL and a page).
		code := oauthErr.Code
		if code == "" {
			code = "invalid_response"
		} else if !errorCodePattern.MatchString(code) {
			code = "unknown_error"
		}
		e := newError(KindProviderFailed, TypeOAuth2ProviderError,
			fmt.Sprintf("The %s provider refused the token request: %s", provider, code), err)
		e.ProviderDescription = cleanDescription(oauthErr.Description)
		return e
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		return newError(KindTimeout, TypeOAuth2ProviderError,
			fmt.Sprintf("The %s provider did not answer in time.", provider), err)
	}
	return newError(KindProviderFailed, TypeOAuth2ProviderError,
		fmt.Sprintf("The login with %s failed.", provider), err)
}

func (s *Service) provider(key string) (providers.Provider, error) {
	p, err := s.o.Providers.Get(key)
	if err != nil {
		return nil, newError(KindDisabled, TypeProviderDisabled,
			fmt.Sprintf("This provider is disabled. Please enable the provider from your project settings to continue (%q is not configured).", key), nil)
	}
	return p, nil
}

// draftSession seals a login's tokens for a new session ID. The session is
// not stored yet: token mode keeps the draft until the app redeems it.
func (s *Service) draftSession(provider string, login *providers.Login, now time.Time) (store.Session, error) {
	d := store.Session{
		ID: store.NewID(), Provider: provider, ProviderUID: login.Identity.Subject,
		EmailVerified:     login.Identity.EmailVerified && login.Identity.Email != "",
		AccessTokenExpiry: login.Token.Expiry.UTC(),
		RefreshedAt:       now,
	}
	if login.Token.Expiry.IsZero() {
		d.AccessTokenExpiry = time.Time{}
	}
	var err error
	if d.AccessTokenSealed, err = s.o.Keys.Seal(login.Token.AccessToken, seal.AAD(d.ID, "access")); err != nil {
		return d, fmt.Errorf("seal access token: %w", err)
	}
	if d.RefreshTokenSealed, err = s.o.Keys.Seal(login.Token.RefreshToken, seal.AAD(d.ID, "refresh")); err != nil {
		return d, fmt.Errorf("seal refresh token: %w", err)
	}
	// The ID token is the id_token_hint of RP-initiated logout; its sid
	// lets a back-channel logout find the session.
	if d.IDTokenSealed, err = s.o.Keys.Seal(login.Token.IDToken, seal.AAD(d.ID, "id_token")); err != nil {
		return d, fmt.Errorf("seal ID token: %w", err)
	}
	d.ProviderSID = login.SessionID
	d.GrantData = login.GrantData
	if login.Token.RefreshToken != "" && !d.AccessTokenExpiry.IsZero() && s.o.Refresher != nil {
		d.RefreshAt = s.o.Refresher.ScheduleFor(provider, now, d.AccessTokenExpiry)
	}
	return d, nil
}

// createLoginSession stores a login's user and session in one store
// transaction (CreateLoginSession), counts the sessions the per-user cap
// removed, and tells the refresher. It returns the session secret.
func (s *Service) createLoginSession(ctx context.Context, ident store.IdentityInput, d store.Session, client ClientMeta) (store.Session, string, error) {
	now := s.now()
	secret := s.fillSession(&d, client, now)
	_, removed, err := s.o.Store.CreateLoginSession(ctx, ident, &d, s.o.MaxPerUser, now)
	if err != nil {
		return store.Session{}, "", fmt.Errorf("store session: %w", err)
	}
	for _, r := range removed {
		s.o.Ended.Ended(r.Provider, lifecycle.OverCap, 1)
	}
	s.sessionCreated(d)
	return d, secret, nil
}

// fillSession completes a drafted session for the client and returns its
// new secret.
func (s *Service) fillSession(d *store.Session, client ClientMeta, now time.Time) string {
	secret := randomString(32)
	d.CreatedAt, d.UpdatedAt = now, now
	d.Expire = now.Add(s.o.SessionDuration)
	d.SecretHash = hashSecret(secret)
	if s.o.Detector != nil {
		d.Client = s.o.Detector.Detect(client)
	}
	if d.Client.CountryCode == "" {
		d.Client.CountryCode, d.Client.CountryName = "--", "Unknown"
	}
	return secret
}

func (s *Service) sessionCreated(d store.Session) {
	if !d.RefreshAt.IsZero() && s.o.Refresher != nil {
		s.o.Refresher.Notify(d.RefreshAt)
	}
	s.o.Metrics.sessionCreated(d.Provider)
	s.o.Logger.Info("session created", "session", d.ID, "user", d.UserID, "provider", d.Provider)
}

// createSession stores a drafted session for the given client, enforces
// the per-user cap and tells the refresher. It returns the session secret.
func (s *Service) createSession(ctx context.Context, d store.Session, client ClientMeta) (store.Session, string, error) {
	secret := s.fillSession(&d, client, s.now())
	if err := s.o.Store.CreateSession(ctx, &d); err != nil {
		return store.Session{}, "", fmt.Errorf("store session: %w", err)
	}
	s.enforceCap(ctx, d.UserID)
	s.sessionCreated(d)
	return d, secret, nil
}

// enforceCap removes a user's oldest sessions beyond MaxPerUser.
func (s *Service) enforceCap(ctx context.Context, userID string) {
	list, err := s.o.Store.ListSessions(ctx, userID)
	if err != nil {
		s.o.Logger.Warn("list sessions for cap", "user", userID, "err", err)
		return
	}
	for i := 0; i < len(list)-s.o.MaxPerUser; i++ {
		err := s.o.Store.DeleteSession(ctx, list[i].ID)
		switch {
		case err == nil:
			s.o.Ended.Ended(list[i].Provider, lifecycle.OverCap, 1)
		case !errors.Is(err, store.ErrNotFound):
			s.o.Logger.Warn("remove session over cap", "session", list[i].ID, "err", err)
		}
	}
}

// RedeemLoginToken turns a token-flow secret into a session (POST
// /v1/account/sessions/token). The secret is single use.
func (s *Service) RedeemLoginToken(ctx context.Context, userID, secret string, client ClientMeta) (store.Session, string, error) {
	if userID == "" || secret == "" {
		return store.Session{}, "", ErrArgument("Param \"userId\" and \"secret\" are required.")
	}
	tok, err := s.o.Store.ConsumeLoginToken(ctx, userID, hashSecret(secret), s.now())
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, "", newError(KindUnauthorized, TypeInvalidToken,
			"Invalid token passed in the request.", nil)
	}
	if err != nil {
		return store.Session{}, "", fmt.Errorf("consume login token: %w", err)
	}
	if _, err := s.activeUser(ctx, userID); err != nil {
		return store.Session{}, "", err
	}
	return s.createSession(ctx, tok.Session, client)
}
