package presets

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/oidc"
	"github.com/sessionbridge/sessionbridge/providers/providerconfig"
)

// Target is one URL `check --online` reaches for a provider, with the
// configuration key that decides it: a problem is reported at that key's
// line ("issuer", "settings.base_url", "token_url"; "type" when the preset
// fixes the URL itself).
type Target struct {
	Key       string
	URL       string
	Discovery bool // an issuer: fetch and validate its discovery document
}

// Targets lists what check --online reaches for one configured provider:
// the issuer of an OpenID provider (generic or preset), or the endpoints
// of a plain OAuth2 one, with templates filled from the settings.
func Targets(cfg providerconfig.Provider) ([]Target, error) {
	switch cfg.Type {
	case KindOIDC:
		return []Target{{Key: "issuer", URL: cfg.Issuer, Discovery: true}}, nil
	case KindOAuth2:
		return endpointTargets(Preset{}, cfg, nil)
	}
	pr, ok := Lookup(cfg.Type)
	if !ok {
		return nil, errors.New(UnknownMessage(cfg.Type))
	}
	values, problems := pr.resolveSettings(cfg.Settings)
	if len(problems) > 0 {
		return nil, fmt.Errorf("settings are invalid (run check without --online)")
	}
	if pr.Kind != KindOIDC {
		return endpointTargets(pr, cfg, values)
	}
	if cfg.Issuer != "" {
		return []Target{{Key: "issuer", URL: cfg.Issuer, Discovery: true}}, nil
	}
	issuer, err := expand(pr.Issuer, values)
	if err != nil {
		return nil, err
	}
	return []Target{{Key: templateKey(pr.Issuer), URL: issuer, Discovery: true}}, nil
}

func endpointTargets(pr Preset, cfg providerconfig.Provider, values map[string]string) ([]Target, error) {
	var out []Target
	for _, e := range []struct{ key, tmpl, override string }{
		{"auth_url", pr.AuthURL, cfg.AuthURL},
		{"token_url", pr.TokenURL, cfg.TokenURL},
		{"userinfo_url", pr.UserinfoURL, cfg.UserinfoURL},
	} {
		if e.override != "" {
			out = append(out, Target{Key: e.key, URL: e.override})
			continue
		}
		if e.tmpl == "" {
			continue
		}
		u, err := expand(e.tmpl, values)
		if err != nil {
			return nil, err
		}
		if !strings.Contains(u, "{") { // a request-time placeholder: nothing fixed to reach
			out = append(out, Target{Key: templateKey(e.tmpl), URL: u})
		}
	}
	return out, nil
}

// templateKey is the key that decides a preset's URL template: its first
// setting placeholder, or "type" when the preset fixes the URL.
func templateKey(tmpl string) string {
	for _, m := range placeholderRE.FindAllStringSubmatch(tmpl, -1) {
		if !slices.Contains(requestPlaceholders, m[1]) {
			return "settings." + m[1]
		}
	}
	return "type"
}

// Probe reaches one target within ctx: an issuer's discovery document is
// fetched and validated exactly as serve does (issuer match, endpoint
// policy); a plain endpoint must resolve and answer (a TLS handshake and
// an HTTP answer of any status). It returns nil when it works.
func Probe(ctx context.Context, cfg providerconfig.Provider, t Target, client *http.Client) error {
	if t.Discovery {
		return probeDiscovery(ctx, cfg, t.URL, client)
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
func probeDiscovery(ctx context.Context, cfg providerconfig.Provider, issuer string, client *http.Client) error {
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p, err := oidc.New(pctx, providerconfig.Provider{Key: cfg.Key, Type: KindOIDC, Issuer: issuer, ClientID: cfg.ClientID,
		ClientSecret: cfg.ClientSecret}, "", oidc.Options{HTTPClient: client, RetryInterval: time.Hour})
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
