// Package revocation sends RFC 7009 token revocation requests for the
// oauth2 and oidc providers: one POST, client authentication as the
// token endpoint's, no redirects, errors that never quote the answer or
// the token.
package revocation

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/internal/tokenhttp"
)

// Request is one revocation.
type Request struct {
	URL          string
	ClientID     string
	ClientSecret string
	// Post sends the client credentials in the body (client_secret_post)
	// instead of HTTP Basic; a public client (no secret) sends client_id
	// in the body either way.
	Post  bool
	Token string
	Hint  string // token_type_hint: refresh_token or access_token
}

// Send makes the request with client (which must not follow redirects).
// A 200 is success (RFC 7009 §2.2: also for a token already invalid).
func Send(ctx context.Context, client *http.Client, r Request, now time.Time) error {
	form := url.Values{"token": {r.Token}}
	if r.Hint != "" {
		form.Set("token_type_hint", r.Hint)
	}
	basic := !r.Post && r.ClientSecret != ""
	if !basic {
		form.Set("client_id", r.ClientID)
		if r.ClientSecret != "" {
			form.Set("client_secret", r.ClientSecret)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, strings.NewReader(form.Encode()))
	if err != nil {
		return &providers.OAuthError{Code: "invalid_request", Description: "the revocation URL is not usable"}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if basic {
		req.SetBasicAuth(url.QueryEscape(r.ClientID), url.QueryEscape(r.ClientSecret))
	}
	resp, err := client.Do(req)
	if err != nil {
		// The URL error quotes the request URL only; the token is in the body.
		return &providers.OAuthError{Err: fmt.Errorf("revocation request failed: %w", unwrapURLError(err))}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	oe := &providers.OAuthError{HTTPStatus: resp.StatusCode, RetryAfter: providers.ParseRetryAfter(resp.Header.Get("Retry-After"), now)}
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil {
		oe.Code = tokenhttp.Clean(e.Error, []string{r.Token, r.ClientSecret})
	}
	return oe
}

// unwrapURLError drops *url.Error's wrapping, which repeats the URL.
func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}
