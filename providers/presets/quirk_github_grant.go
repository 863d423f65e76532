package presets

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/oauth2"
)

// githubGrant revokes through GitHub's OAuth application API (DELETE
// /applications/{client_id}/grant with the client's Basic credentials and
// the access token in a JSON body): GitHub has no RFC 7009 endpoint, and
// this ends the user's whole grant to the app, every token of it.
type githubGrant struct{}

var _ oauth2.RevokeHook = githubGrant{}

func (githubGrant) Revoke(ctx context.Context, in oauth2.RevokeInput) error {
	if in.AccessToken == "" {
		return &providers.OAuthError{Code: "unsupported_token_type", Description: "GitHub's grant API needs the access token"}
	}
	u := strings.NewReplacer("{client_id}", url.PathEscape(in.ClientID), "%7Bclient_id%7D", url.PathEscape(in.ClientID)).Replace(in.URL)
	body, _ := json.Marshal(map[string]string{"access_token": in.AccessToken})
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, u, bytes.NewReader(body))
	if err != nil {
		return &providers.OAuthError{Code: "invalid_request", Description: "the grant URL is not usable"}
	}
	req.SetBasicAuth(in.ClientID, in.ClientSecret)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("Content-Type", "application/json")
	resp, err := in.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL
		}
		return &providers.OAuthError{Err: fmt.Errorf("grant revocation failed: %w", err)}
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNoContent, resp.StatusCode == http.StatusNotFound:
		return nil // revoked, or no grant left to revoke
	case resp.StatusCode == http.StatusUnprocessableEntity:
		return &providers.OAuthError{Code: "invalid_request", HTTPStatus: resp.StatusCode, Description: "GitHub refused the grant revocation"}
	}
	return &providers.OAuthError{HTTPStatus: resp.StatusCode, RetryAfter: providers.ParseRetryAfter(resp.Header.Get("Retry-After"), in.Now)}
}
