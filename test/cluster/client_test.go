package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sessionbridge/sessionbridge/internal/testenv/testissuer"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testlogin"
)

const sessionCookie = "a_session_" + project

// lbTransport plays the load balancer in front of several instances that
// share one public URL: a request to the public host goes to the instance
// pick chooses, with the Host header left as the browser sent it and the
// browser's address in X-Forwarded-For (the bridge trusts it from
// 127.0.0.1, listed in trusted_proxies; its login rate limits are per client address). Other hosts
// (the provider) are dialled directly.
type lbTransport struct {
	base       http.RoundTripper
	publicHost string
	clientIP   string
	pick       func(*http.Request) string // host:port of the instance
}

func (l *lbTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host != l.publicHost {
		return l.base.RoundTrip(r)
	}
	r2 := r.Clone(r.Context())
	r2.URL.Host = l.pick(r)
	r2.Host = l.publicHost
	if l.clientIP != "" {
		r2.Header.Set("X-Forwarded-For", l.clientIP)
	}
	return l.base.RoundTrip(r2)
}

// loginer runs browser logins through the bridge's public URL.
type loginer struct {
	publicURL string
	iss       *testissuer.Issuer
	base      http.RoundTripper
}

func newLoginer(publicURL string, iss *testissuer.Issuer) *loginer {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return &loginer{publicURL: publicURL, iss: iss, base: tr}
}

// login runs one whole browser login (the shared login driver) as user
// email from address clientIP: the start route is served by instance
// startAddr, the bind hop and the callback by finishAddr (as a load
// balancer without stickiness may do). It answers the provider's "who are
// you" form itself. It returns the session cookie.
func (l *loginer) login(ctx context.Context, startAddr, finishAddr, email, clientIP string) (string, error) {
	pub, _ := url.Parse(l.publicURL)
	const startPath = "/v1/account/sessions/oauth2/" + providerKey
	b := testlogin.NewBrowser(&lbTransport{base: l.base, publicHost: pub.Host, clientIP: clientIP, pick: func(r *http.Request) string {
		if r.URL.Path == startPath {
			return startAddr
		}
		return finishAddr
	}}, "app.example")
	res, err := b.Login(ctx, testlogin.Login{
		BaseURL: l.publicURL, Provider: providerKey, Issuer: l.iss.URL(),
		Success: appOrigin + "/ok", Failure: appOrigin + "/fail",
		Choice: testlogin.Choice{User: &testlogin.User{Email: email, Name: strings.SplitN(email, "@", 2)[0], EmailVerified: true}},
	})
	switch {
	case err != nil && (res == nil || res.Authorization == nil):
		return "", fmt.Errorf("start: %w", err)
	case err != nil:
		return "", fmt.Errorf("authorize/callback: %w", err)
	case res.Authorization == nil || res.Authorization.Path != "/authorize":
		return "", fmt.Errorf("start: HTTP %d, want a redirect to the provider's /authorize", res.Response.StatusCode)
	}
	final := res.Location()
	if final == nil || final.Host != "app.example" || final.Path != "/ok" {
		return "", fmt.Errorf("login ended with HTTP %d (location %s), want a redirect to %s/ok", res.Response.StatusCode, redactQuery(final), appOrigin)
	}
	if v := b.Cookie(l.publicURL, sessionCookie); v != "" {
		return v, nil
	}
	return "", errors.New("the login set no session cookie")
}

func redactQuery(u *url.URL) string {
	if u == nil {
		return "none"
	}
	c := *u
	c.RawQuery = ""
	return c.String()
}

// apiSession is the part of the Session model these tests read.
type apiSession struct {
	ID                string `json:"$id"`
	UserID            string `json:"userId"`
	Provider          string `json:"provider"`
	AccessToken       string `json:"providerAccessToken"`
	AccessTokenExpiry string `json:"providerAccessTokenExpiry"`
	RefreshToken      string `json:"providerRefreshToken"`
	Current           bool   `json:"current"`
	Expire            string `json:"expire"`
	ProviderUID       string `json:"providerUid"`
}

// Expiry parses providerAccessTokenExpiry.
func (s apiSession) Expiry() (time.Time, error) {
	return time.Parse("2006-01-02T15:04:05.000-07:00", s.AccessTokenExpiry)
}

// api is a plain client for the Account and Users APIs of one instance.
type api struct {
	c      *http.Client
	apiKey string
}

func newAPI(apiKey string) *api {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 32
	return &api{c: &http.Client{Timeout: 20 * time.Second, Transport: tr}, apiKey: apiKey}
}

// do sends a request to base+path and decodes a JSON answer into out
// (when out is not nil and the status is 2xx).
func (a *api) do(ctx context.Context, method, base, path string, hdr map[string]string, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, base+path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("X-Appwrite-Project", project)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := a.c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(body, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: body is not the expected JSON: %v", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// current reads the session a cookie value authenticates (status 200), as
// its owner sees it.
func (a *api) current(ctx context.Context, base, cookie string) (apiSession, int, error) {
	var s apiSession
	code, err := a.do(ctx, http.MethodGet, base, "/v1/account/sessions/current", map[string]string{"X-Appwrite-Session": cookie}, &s)
	return s, code, err
}

// deleteCurrent ends the session a cookie value authenticates.
func (a *api) deleteCurrent(ctx context.Context, base, cookie string) (int, error) {
	return a.do(ctx, http.MethodDelete, base, "/v1/account/sessions/current", map[string]string{"X-Appwrite-Session": cookie}, nil)
}

// deleteUserSession ends a session with the API key.
func (a *api) deleteUserSession(ctx context.Context, base, userID, id string) (int, error) {
	return a.do(ctx, http.MethodDelete, base, "/v1/users/"+url.PathEscape(userID)+"/sessions/"+url.PathEscape(id),
		map[string]string{"X-Appwrite-Key": a.apiKey}, nil)
}

// userSessions lists a user's sessions with the API key, which sees
// providerRefreshToken.
func (a *api) userSessions(ctx context.Context, base, userID string) ([]apiSession, error) {
	var out struct {
		Total    int          `json:"total"`
		Sessions []apiSession `json:"sessions"`
	}
	code, err := a.do(ctx, http.MethodGet, base, "/v1/users/"+url.PathEscape(userID)+"/sessions", map[string]string{"X-Appwrite-Key": a.apiKey}, &out)
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("GET /v1/users/{id}/sessions: HTTP %d", code)
	}
	return out.Sessions, nil
}

// readyz returns the status of base/readyz (0 when unreachable).
func (a *api) readyz(ctx context.Context, base string) int {
	code, err := a.do(ctx, http.MethodGet, base, "/readyz", nil, nil)
	if err != nil {
		return 0
	}
	return code
}

// metric sums the samples of a Prometheus metric on base/metrics whose
// labels contain every "key=\"value\"" pair given; a metric that is not
// exported yet sums to 0.
func (a *api) metric(ctx context.Context, base, name string, labels ...string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := a.c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /metrics: HTTP %d", resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("GET /metrics: %w", err)
	}
	var sum float64
	for _, m := range families[name].GetMetric() {
		if hasLabels(m, labels) {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue() + m.GetUntyped().GetValue()
		}
	}
	return sum, nil
}

// hasLabels reports whether m carries every "key=\"value\"" pair given.
func hasLabels(m *dto.Metric, pairs []string) bool {
	have := map[string]bool{}
	for _, l := range m.GetLabel() {
		have[l.GetName()+"="+strconv.Quote(l.GetValue())] = true
	}
	for _, p := range pairs {
		if !have[p] {
			return false
		}
	}
	return true
}
