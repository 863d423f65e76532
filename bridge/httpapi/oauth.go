package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/sessionbridge/sessionbridge/bridge"
)

// maxCallbackBody bounds a form_post callback body.
const maxCallbackBody = 64 << 10

// Bounds of what a login start may ask the bridge to store (login_flows
// rows are written before anyone has authenticated). Appwrite caps a
// scope at 4096 characters and the list at 100 (APP_LIMIT_ARRAY_*) and
// leaves URLs to its web server's request-line limit (8 KiB); the bridge
// is tighter because nothing legitimate comes near: 2 KiB per URL
// (what older browsers and many proxies accept), 256 bytes per scope, 50
// scopes and 4 KiB of scopes in all.
const (
	maxRedirectURL  = 2048
	maxScope        = 256
	maxScopes       = 50
	maxScopesLength = 4096
)

func (s *Server) startOAuth2Session(w http.ResponseWriter, r *http.Request) {
	if !s.allow(w, r, s.limits.sessionStart, rateKey(s.clientIP(r))) {
		s.refuse(w, r, errRateLimited)
		return
	}
	s.startLogin(w, r, bridge.ModeSession)
}

func (s *Server) startOAuth2Token(w http.ResponseWriter, r *http.Request) {
	if !s.allow(w, r, s.limits.tokenStart, rateKey(s.clientIP(r))) {
		s.refuse(w, r, errRateLimited)
		return
	}
	s.startLogin(w, r, bridge.ModeToken)
}

// startLogin checks the redirect targets, records the login and sends the
// browser to the bind hop on the bridge's own origin, so the flow cookie
// is set by a response the browser itself receives even when a server SDK
// fetched this route and handed only the Location on.
func (s *Server) startLogin(w http.ResponseWriter, r *http.Request, mode string) {
	q := r.URL.Query()
	success, failure := q.Get("success"), q.Get("failure")
	scopes := scopesParam(q)
	if err := s.checkLoginStart(success, failure, scopes); err != nil {
		s.refuse(w, r, err)
		return
	}
	if success == "" {
		success = s.o.PublicURL + "/account"
	}
	start := bridge.LoginStart{Provider: r.PathValue("provider"), Mode: mode, Success: success, Failure: failure, Scopes: scopes}
	if mode == bridge.ModeSession && isNavigation(r) {
		s.startBound(w, r, start)
		return
	}
	handle, err := s.svc.BeginLogin(r.Context(), start)
	if err != nil {
		s.refuse(w, r, err)
		return
	}
	http.Redirect(w, r, s.o.PublicURL+"/v1/oauth2/bind/"+handle, http.StatusFound)
}

// checkLoginStart refuses redirect targets outside the allowlist and
// anything over the storage bounds, before anything is stored.
func (s *Server) checkLoginStart(success, failure string, scopes []string) error {
	for _, target := range []struct{ name, value string }{{"success", success}, {"failure", failure}} {
		if len(target.value) > maxRedirectURL {
			return bridge.ErrArgument("Invalid `" + target.name + "` param: the URL is longer than " + strconv.Itoa(maxRedirectURL) + " bytes.")
		}
		if target.value != "" && !s.o.Allowlist.AllowsURL(target.value) {
			return bridge.ErrArgument("Invalid `" + target.name + "` param: URL host must be one of: " + s.allowedHint())
		}
	}
	if len(scopes) > maxScopes {
		return bridge.ErrArgument("Invalid `scopes` param: at most " + strconv.Itoa(maxScopes) + " scopes are allowed.")
	}
	total := 0
	for _, sc := range scopes {
		total += len(sc)
		if len(sc) > maxScope {
			return bridge.ErrArgument("Invalid `scopes` param: a scope is longer than " + strconv.Itoa(maxScope) + " bytes.")
		}
	}
	if total > maxScopesLength {
		return bridge.ErrArgument("Invalid `scopes` param: the scopes are longer than " + strconv.Itoa(maxScopesLength) + " bytes in all.")
	}
	return nil
}

// isNavigation reports whether the browser itself is navigating to this
// URL (Fetch Metadata, sent by current browsers): then this response's
// flow cookie reaches the browser that will come back to the callback,
// and the bind hop can be skipped. A server that fetched the route and
// claimed to navigate only fails its own login (the browser arrives at
// the callback without the flow cookie).
func isNavigation(r *http.Request) bool {
	return r.Header.Get("Sec-Fetch-Mode") == "navigate" && r.Header.Get("Sec-Fetch-Dest") == "document"
}

// startBound starts a login bound to this browser at once (no bind hop).
func (s *Server) startBound(w http.ResponseWriter, r *http.Request, start bridge.LoginStart) {
	bound, authURL, err := s.svc.BeginBoundLogin(r.Context(), start)
	if err != nil {
		s.refuse(w, r, err)
		return
	}
	if err := s.savePendingFlows(w, append(s.pendingFlows(r), bound)); err != nil {
		s.refuse(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, authURL, http.StatusFound)
}

// scopesParam reads the requested scopes in every shape clients send
// them: the Appwrite SDKs flatten arrays into indexed keys (scopes[0],
// scopes[1], ...), PHP-style clients use scopes[], plain ones repeat scopes.
// Indexed keys are taken in index order.
func scopesParam(q url.Values) []string {
	scopes := append(append([]string{}, q["scopes[]"]...), q["scopes"]...)
	type indexed struct {
		i int
		v []string
	}
	var byIndex []indexed
	for k, vs := range q {
		if !strings.HasPrefix(k, "scopes[") || !strings.HasSuffix(k, "]") {
			continue
		}
		i, err := strconv.Atoi(k[len("scopes[") : len(k)-1])
		if err != nil || i < 0 {
			continue
		}
		byIndex = append(byIndex, indexed{i, vs})
	}
	sort.Slice(byIndex, func(a, b int) bool { return byIndex[a].i < byIndex[b].i })
	for _, x := range byIndex {
		scopes = append(scopes, x.v...)
	}
	out := scopes[:0]
	for _, sc := range scopes {
		if sc = strings.TrimSpace(sc); sc != "" {
			out = append(out, sc)
		}
	}
	return out
}

func (s *Server) allowedHint() string {
	return "the bridge's own origin or an origin in redirect_allowlist"
}

// refuse answers a request that cannot start a login: JSON for API
// clients, an error page for browsers.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, err error) {
	if wantsJSON(r) {
		s.writeError(w, r, err)
		return
	}
	s.errorPage(w, r, err)
}

// bindLogin is the hop on the bridge's own origin: it binds the login to
// this browser with the encrypted flow cookie and goes to the provider.
func (s *Server) bindLogin(w http.ResponseWriter, r *http.Request) {
	bound, authURL, err := s.svc.BindLogin(r.Context(), r.PathValue("handle"))
	if err != nil {
		s.fail(w, r, bound.Failure, err)
		return
	}
	if err := s.savePendingFlows(w, append(s.pendingFlows(r), bound)); err != nil {
		s.fail(w, r, bound.Failure, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, authURL, http.StatusFound)
}

// callback finishes a login. The browser's flow cookie must hold the
// state; the flow is removed from the cookie whatever the outcome.
func (s *Server) callback(w http.ResponseWriter, r *http.Request) {
	if !s.allow(w, r, s.limits.callback, rateKey(s.clientIP(r))) {
		// The pending login stays in the flow cookie: nothing is consumed,
		// and the app learns why through its failure URL when it gave one.
		s.fail(w, r, pendingFailure(s.pendingFlows(r), r.URL.Query().Get("state")), errRateLimited)
		return
	}
	params, err := callbackParams(w, r)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	provider := r.PathValue("provider")
	state := params.Get("state")
	pending := s.pendingFlows(r)
	bound, ok := bridge.FindBound(pending, state)
	if !ok {
		s.rejectState(w, r, provider, state, pending)
		return
	}
	// dropFlow removes the finished login from the flow cookie. A
	// token-mode success skips it: that answer sets no cookie at all, and
	// the flow left behind is already consumed in the store (a replay
	// fails there) and expires with the cookie.
	dropFlow := func() {
		if err := s.savePendingFlows(w, withoutFlow(pending, bound.State)); err != nil {
			s.log.Warn("could not update the login cookie", "err", err)
		}
	}
	if r.PathValue("project") != s.o.Project {
		dropFlow()
		s.fail(w, r, bound.Failure, &bridge.Error{Type: bridge.TypeProjectNotFound, Kind: bridge.KindNotFound,
			Message: "The callback names another project."})
		return
	}
	_, hasIss := params["iss"]
	res, err := s.svc.CompleteLogin(r.Context(), bridge.CallbackInput{
		Provider: provider, State: state, Code: params.Get("code"),
		Iss: params.Get("iss"), HasIss: hasIss,
		Error: params.Get("error"), ErrorDescription: params.Get("error_description"),
		Form: params,
	}, bound, s.clientMeta(r))
	if err != nil {
		dropFlow()
		s.fail(w, r, bound.Failure, err)
		return
	}
	if res.Mode != bridge.ModeToken {
		dropFlow()
	}
	s.finishLogin(w, r, res, bound.Failure)
}

// callbackParams are the callback's parameters: its query, or the body of
// a form_post callback (Sign in with Apple), bounded by maxCallbackBody.
func callbackParams(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	if r.Method != http.MethodPost {
		return r.URL.Query(), nil
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxCallbackBody)
	if err := r.ParseForm(); err != nil {
		return nil, bridge.ErrArgument("The callback body could not be read.")
	}
	return r.Form, nil
}

// rejectState answers a callback whose state is not one this browser
// started. If the bridge knows it, another browser's login is being
// finished here (a leaked state and code, or login CSRF): that login is
// ended, no token request is sent, and this browser goes to its failure
// URL (or to that of its own latest pending login).
func (s *Server) rejectState(w http.ResponseWriter, r *http.Request, provider, state string, pending []bridge.BoundFlow) {
	failure := s.svc.AbandonLogin(r.Context(), state)
	s.svc.LoginStateRejected(provider)
	if failure == "" {
		failure = pendingFailure(pending, state)
	}
	s.fail(w, r, failure, bridge.ErrArgument("The login state is missing, invalid, expired or belongs to another browser. Start the login again."))
}

// pendingFailure is where a callback that cannot go on sends the browser:
// the failure URL of the pending login whose state it carries, else that
// of the browser's latest pending login ("" for none: an error page).
func pendingFailure(pending []bridge.BoundFlow, state string) string {
	if bound, ok := bridge.FindBound(pending, state); ok {
		return bound.Failure
	}
	if len(pending) > 0 {
		return pending[len(pending)-1].Failure
	}
	return ""
}

// withoutFlow is the pending logins but the one with state.
func withoutFlow(pending []bridge.BoundFlow, state string) []bridge.BoundFlow {
	rest := pending[:0:0]
	for _, p := range pending {
		if p.State != state {
			rest = append(rest, p)
		}
	}
	return rest
}

// finishLogin sends the browser to the success URL: in token mode with
// the single-use userId and secret in its query and no cookie, else with
// the new session's cookie.
func (s *Server) finishLogin(w http.ResponseWriter, r *http.Request, res *bridge.LoginResult, failure string) {
	status := redirectStatus(r)
	if res.Mode == bridge.ModeToken {
		target, err := addQuery(res.Success, url.Values{"userId": {res.UserID}, "secret": {res.TokenSecret}})
		if err != nil {
			s.fail(w, r, failure, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, target, status)
		return
	}
	value, err := s.codec.encode(bridge.Credential{SessionID: res.Session.ID, Secret: res.SessionSecret})
	if err != nil {
		s.fail(w, r, failure, err)
		return
	}
	http.SetCookie(w, s.sessionCookie(value, res.Session.Expire))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, res.Success, status)
}

// fail sends the browser to the failure URL with Appwrite's error query,
// or shows the error page when the login has no failure URL.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, failure string, err error) {
	e := bridge.AsError(err)
	if status(e) >= 500 {
		s.log.Error("login failed", "route", r.Pattern, "type", e.Type, "err", err)
	} else {
		s.log.Info("login refused", "route", r.Pattern, "type", e.Type, "err", err)
	}
	if failure == "" {
		s.loginFailedPage(w, r, loginPageError(e))
		return
	}
	body, _ := json.Marshal(map[string]any{"message": e.Message, "type": e.Type, "code": status(e)})
	target, qerr := addQuery(failure, url.Values{"error": {string(body)}})
	if qerr != nil {
		s.errorPage(w, r, loginPageError(e))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, redirectStatus(r))
}

// redirectStatus is 302, or 303 after a POST (a form_post callback), so
// the browser follows with a GET.
func redirectStatus(r *http.Request) int {
	if r.Method == http.MethodPost {
		return http.StatusSeeOther
	}
	return http.StatusFound
}

// loginPageError gives a failed login without a failure URL a 4xx status
// (contract §6): a provider that is down or answered badly is a failed
// dependency of the login, anything else a bad request.
func loginPageError(e *bridge.Error) *bridge.Error {
	if status(e) < 500 {
		return e
	}
	page := *e
	page.Kind = bridge.KindInvalid
	if e.Type == bridge.TypeOAuth2ProviderError {
		page.Kind = bridge.KindProviderFailed
	}
	return &page
}

// addQuery appends parameters to a URL's query, keeping what it has.
func addQuery(raw string, extra url.Values) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	q := u.Query()
	for k, vs := range extra {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// tokenRequest is the body of POST /v1/account/sessions/token.
type tokenRequest struct {
	UserID string `json:"userId"`
	Secret string `json:"secret"`
}

func (s *Server) createSessionFromToken(w http.ResponseWriter, r *http.Request) {
	var in tokenRequest
	if err := decodeBody(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if !s.allow(w, r, s.limits.token, rateKey(s.clientIP(r))+" "+truncate(in.UserID, 64)) {
		s.writeError(w, r, errRateLimited)
		return
	}
	sess, secret, err := s.svc.RedeemLoginToken(r.Context(), in.UserID, in.Secret, s.clientMeta(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	value, err := s.codec.encode(bridge.Credential{SessionID: sess.ID, Secret: secret})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c := caller{session: sess, value: value}
	shown := ""
	if k, ok := s.apiKeyFor(r); ok {
		c.apiKey, shown = &k, value
	}
	out, err := s.render(sess, c, shown)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// The new session is the one this response's cookie (or, for a
	// server SDK, its secret) now carries: current, as Appwrite answers
	// for every session it creates, API key or not.
	out.Current = true
	http.SetCookie(w, s.sessionCookie(value, sess.Expire))
	s.setFallbackCookie(w, r, value)
	writeJSON(w, http.StatusCreated, out)
}

// decodeBody reads a JSON request body into v. Form bodies never get
// here: ServeHTTP refuses any body that is not JSON (see jsonBodyAllowed),
// which is what a cross-site <form> could send.
func decodeBody(r *http.Request, v *tokenRequest) error {
	r.Body = http.MaxBytesReader(nil, r.Body, 64<<10)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return bridge.ErrArgument("The request body could not be read.")
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return bridge.ErrArgument("Param \"userId\" is not optional.")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return bridge.ErrArgument("The request body is not valid JSON: " + strconv.Quote(shortJSONError(err)))
	}
	return nil
}

// shortJSONError describes a JSON error without echoing the input.
func shortJSONError(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return "syntax error at offset " + strconv.FormatInt(se.Offset, 10)
	case errors.As(err, &te):
		return "field " + te.Field + " must be a " + te.Type.String()
	}
	return "malformed"
}

// truncate bounds an untrusted string used as a map key.
func truncate(v string, n int) string {
	if len(v) > n {
		return v[:n]
	}
	return v
}
