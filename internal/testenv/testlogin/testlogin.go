// Package testlogin plays a browser through an OAuth 2.0 / OpenID Connect
// login over real HTTP, for tests. It is the one login driver of the
// repository:
//
//   - Authorize is the provider's side of any login: it sends an
//     authorization request to the provider (approving on its own, or
//     answering the development issuer's "who are you" form) and returns
//     the redirect back to the client without following it. Tests of the
//     provider clients (providers/oidc, providers/oauth2, devissuer) use
//     it between their AuthCodeURL and Exchange.
//   - Browser.Login is a whole login through the bridge's HTTP routes:
//     start → bind hop → the provider's authorization endpoint → callback
//     → the redirect to the app, in a browser with a cookie jar. The
//     bridge's own tests (bridge/app, test/cluster) use it.
//   - Client is an OAuth client of one issuer that also speaks to its
//     endpoints by hand: the tests of the issuer itself (devissuer,
//     testissuer) share it.
//
// internal/testenv/testbrowser is the real (Chromium) browser; this one
// speaks plain HTTP. It is imported by _test.go files only; nothing in the
// product uses it.
package testlogin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"
)

// UserAgent is what a Browser sends by default: a desktop Chrome's, as
// the bridge would see from a person.
const UserAgent = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"

// User is who signs in at the development issuer's "who are you" form.
type User struct {
	Email, Name   string
	EmailVerified bool
}

// Choice is what the user does at the provider's authorization endpoint.
type Choice struct {
	// User answers the development issuer's form (form mode) as this
	// person. Nil means the provider approves by itself (devissuer with
	// AutoApprove, providertest fakes): the request is a plain GET.
	User *User
	// Deny presses Cancel on that form instead.
	Deny bool
}

// Authorize plays the browser at the provider: it sends the authorization
// request authURL (a GET, or the form's POST when c names a user or a
// denial) and returns where the provider redirects back to, the client's
// redirect URI with code or error, state and iss, without following it.
// client sends the request (its redirect policy is ignored); nil means a
// plain client. An answer that is not a redirect is an error.
func Authorize(ctx context.Context, client *http.Client, authURL string, c Choice) (*url.URL, error) {
	req, err := authorizationRequest(ctx, authURL, c)
	if err != nil {
		return nil, err
	}
	resp, err := noFollow(client).Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("authorize answered %d: %s", resp.StatusCode, body)
	}
	return resp.Location()
}

// authorizationRequest is the request a browser sends to authURL for c:
// in form mode the form carries the authorization request's parameters
// (as the page's hidden fields do) and the user's answer.
func authorizationRequest(ctx context.Context, authURL string, c Choice) (*http.Request, error) {
	if c.User == nil && !c.Deny {
		return http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	}
	u, err := url.Parse(authURL)
	if err != nil {
		return nil, err
	}
	form := u.Query()
	form.Set("action", "approve")
	if c.Deny {
		form.Set("action", "deny")
	}
	if c.User != nil {
		form.Set("email", c.User.Email)
		form.Set("name", c.User.Name)
		if c.User.EmailVerified {
			form.Set("email_verified", "1")
		}
	}
	u.RawQuery = ""
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req, nil
}

// noFollow is client (or a plain one) that returns redirects instead of
// following them; it shares client's jar and transport.
func noFollow(client *http.Client) *http.Client {
	c := &http.Client{Timeout: 30 * time.Second}
	if client != nil {
		c2 := *client
		c = &c2
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// Browser is an HTTP client with a cookie jar that plays a browser. Its
// redirect policy (used by Get) never dials the app hosts given to
// NewBrowser: a redirect there ends the request, as the app is not
// running. The embedded client may be adjusted by a test.
type Browser struct {
	*http.Client
	// UserAgent is sent with every request to the bridge.
	UserAgent string
	// StopAtCallback makes Get stop at a redirect to the bridge's OAuth
	// callback, so a test can present the callback itself.
	StopAtCallback bool
}

// NewBrowser returns a browser with an empty cookie jar. transport (nil:
// http.DefaultTransport) carries every request; appHosts are the hosts
// (host or host:port) it never dials.
func NewBrowser(transport http.RoundTripper, appHosts ...string) *Browser {
	jar, _ := cookiejar.New(nil)
	b := &Browser{UserAgent: UserAgent}
	b.Client = &http.Client{Jar: jar, Transport: transport, Timeout: 30 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			for _, h := range appHosts {
				if req.URL.Host == h {
					return http.ErrUseLastResponse
				}
			}
			if b.StopAtCallback && strings.Contains(req.URL.Path, "/oauth2/callback/") {
				return http.ErrUseLastResponse
			}
			if len(via) >= 10 {
				return errors.New("stopped after 10 redirects")
			}
			req.Header.Set("User-Agent", b.UserAgent)
			return nil
		}}
	return b
}

// Get sends a GET as the browser, following redirects as its policy says;
// the body is read and closed.
func (b *Browser) Get(ctx context.Context, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", b.UserAgent)
	resp, err := b.Do(req)
	if err != nil {
		return nil, err
	}
	drain(resp)
	return resp, nil
}

// Cookie returns the value of the cookie name the browser would send to
// u, or "" without one.
func (b *Browser) Cookie(u, name string) string {
	parsed, err := url.Parse(u)
	if err != nil {
		return ""
	}
	for _, c := range b.Jar.Cookies(parsed) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// Login is one login through the bridge's HTTP routes.
type Login struct {
	// BaseURL is the bridge's public URL; Provider the provider key.
	BaseURL  string
	Provider string
	// Route is the start route's path; default the session login's,
	// /v1/account/sessions/oauth2/{Provider}.
	Route string
	// Issuer is the provider's URL: the redirect under it is the
	// authorization request, answered as Choice.
	Issuer string
	// Success and Failure are the app URLs the login returns to; Scopes
	// are sent as scopes[].
	Success, Failure string
	Scopes           []string
	Choice
	// UntilCallback ends the login at the provider's redirect back to the
	// bridge, without presenting the callback (Result.Callback).
	UntilCallback bool
}

// startURL is the login's start route with its query.
func (l Login) startURL() string {
	route := l.Route
	if route == "" {
		route = "/v1/account/sessions/oauth2/" + l.Provider
	}
	q := url.Values{}
	if l.Success != "" {
		q.Set("success", l.Success)
	}
	if l.Failure != "" {
		q.Set("failure", l.Failure)
	}
	for _, s := range l.Scopes {
		q.Add("scopes[]", s)
	}
	return strings.TrimRight(l.BaseURL, "/") + route + "?" + q.Encode()
}

// Result is how a login ended.
type Result struct {
	// Response is the bridge's last answer, its body read and closed: the
	// redirect to the app's Success or Failure URL, an error page, or
	// (UntilCallback) the redirect to the provider.
	Response *http.Response
	// Authorization is the authorization request the bridge sent the
	// browser to, and Callback the provider's redirect back; nil when the
	// login did not get that far.
	Authorization, Callback *url.URL
}

// Location is where the last answer redirects to; nil without one.
func (r *Result) Location() *url.URL {
	loc, err := r.Response.Location()
	if err != nil {
		return nil
	}
	return loc
}

// Login drives l in the browser, hop by hop: redirects within the bridge
// (the bind hop, the callback) are followed with the browser's cookies,
// the one to l.Issuer is answered as l.Choice, and any other (to the app)
// ends the login. It fails only when an HTTP exchange does (the Result
// then says how far it got); where the login ended is for the caller to
// judge.
func (b *Browser) Login(ctx context.Context, l Login) (*Result, error) {
	if l.Issuer == "" {
		return nil, errors.New("testlogin: Login.Issuer is required")
	}
	base, err := url.Parse(l.BaseURL)
	if err != nil {
		return nil, err
	}
	client := noFollow(b.Client)
	res := &Result{}
	next := l.startURL()
	for range 10 {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, next, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("User-Agent", b.UserAgent)
		resp, err := client.Do(req)
		if err != nil {
			return res, fmt.Errorf("GET %s: %w", redact(req.URL), err)
		}
		res.Response = resp
		drain(res.Response)
		loc := res.Location()
		switch {
		case loc != nil && res.Authorization == nil && strings.HasPrefix(loc.String(), strings.TrimRight(l.Issuer, "/")+"/"):
			if err := answerProvider(ctx, client, l, loc, res); err != nil {
				return res, err
			}
			if l.UntilCallback || res.Callback.Host != base.Host {
				return res, nil
			}
			next = res.Callback.String()
		case loc == nil || loc.Host != base.Host:
			return res, nil
		default:
			next = loc.String()
		}
	}
	return res, errors.New("testlogin: the login did not end after 10 redirects")
}

// answerProvider answers the authorization request loc as l.Choice and
// notes it and the provider's redirect in res.
func answerProvider(ctx context.Context, client *http.Client, l Login, loc *url.URL, res *Result) error {
	res.Authorization = loc
	cb, err := Authorize(ctx, client, loc.String(), l.Choice)
	if err != nil {
		return fmt.Errorf("provider: %w", err)
	}
	res.Callback = cb
	return nil
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
}

// redact drops the query, which may hold a code or a state.
func redact(u *url.URL) string {
	c := *u
	c.RawQuery = ""
	return c.String()
}
