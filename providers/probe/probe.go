// Package probe reaches a provider's URLs for `sessionbridge check
// --online`: an issuer's discovery document is fetched and validated with
// the code serve uses, a plain endpoint must answer.
package probe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/oidc"
	"github.com/sessionbridge/sessionbridge/providers/providerconfig"
)

// Probe reaches one target within ctx: an issuer's discovery document is
// fetched and validated exactly as serve does (issuer match, endpoint
// policy); a plain endpoint must resolve and answer (a TLS handshake and
// an HTTP answer of any status). It returns nil when it works.
func Probe(ctx context.Context, t providerconfig.Target, client *http.Client) error {
	if t.Discovery {
		return probeDiscovery(ctx, t.URL, client)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.URL, nil)
	if err != nil {
		return fmt.Errorf("%q is not a URL: %v", t.URL, err)
	}
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("%s is unreachable: %v", t.URL, shortErr(err))
	}
	resp.Body.Close()
	return nil
}

// probeDiscovery runs one discovery with the same code serve uses and
// waits for its first attempt.
func probeDiscovery(ctx context.Context, issuer string, client *http.Client) error {
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Discovery does not use the client's credentials; New only insists
	// on a client ID being there.
	p, err := oidc.New(pctx, oidc.Config{Key: "check", Issuer: issuer, ClientID: "check"}, "",
		oidc.Options{HTTPClient: client, RetryInterval: time.Hour})
	if err != nil {
		return err
	}
	select {
	case <-p.FirstAttempt():
	case <-ctx.Done():
		return fmt.Errorf("discovery at %s did not answer in time", issuer)
	}
	if err := p.Ready(); err != nil {
		var ue *providers.UnavailableError
		if errors.As(err, &ue) && ue.Err != nil {
			err = ue.Err
		}
		return fmt.Errorf("discovery at %s failed: %v", issuer, err)
	}
	return nil
}

// shortErr drops the "Get "URL": " prefix net/http adds (the URL is
// already in the message).
func shortErr(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}
