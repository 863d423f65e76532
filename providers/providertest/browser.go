package providertest

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// Authorize plays the browser: it opens authURL (already pointing at a
// fake, or at any loopback server) and returns the parameters of the
// redirect back to the client, without following it.
func Authorize(authURL string) (url.Values, error) {
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.Get(authURL)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusFound {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("authorize answered %d: %s", resp.StatusCode, body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		return nil, err
	}
	q := loc.Query()
	if q.Get("error") != "" {
		return nil, errors.New("authorize refused: " + q.Get("error"))
	}
	return q, nil
}
