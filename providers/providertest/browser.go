package providertest

import (
	"context"
	"errors"
	"net/url"

	"github.com/sessionbridge/sessionbridge/internal/testenv/testlogin"
)

// Authorize plays the browser: it opens authURL (already pointing at a
// fake, or at any loopback server) and returns the parameters of the
// redirect back to the client, without following it (the shared login
// driver, testlogin.Authorize), and refuses an error answer.
func Authorize(authURL string) (url.Values, error) {
	loc, err := testlogin.Authorize(context.Background(), nil, authURL, testlogin.Choice{})
	if err != nil {
		return nil, err
	}
	q := loc.Query()
	if q.Get("error") != "" {
		return nil, errors.New("authorize refused: " + q.Get("error"))
	}
	return q, nil
}
