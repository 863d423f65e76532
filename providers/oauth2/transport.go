package oauth2

import (
	"net/http"

	"github.com/sessionbridge/sessionbridge/providers/internal/tokenhttp"
)

// newTokenClient builds the client for token requests: configured headers,
// the TokenResponseHook rewriters, the answer kept so the claims mapping
// can read token-answer members with exact numbers, and no redirects.
func (p *Provider) newTokenClient(base *http.Client) *http.Client {
	o := tokenhttp.Options{Headers: p.cfg.TokenHeaders, KeepBody: true, JSONRequest: p.cfg.JSONTokenRequests}
	if rws := p.tokenRewriters(); len(rws) > 0 {
		o.Rewrite = func(body []byte) ([]byte, error) {
			var err error
			for _, rw := range rws {
				if body, err = rw.RewriteTokenResponse(body); err != nil {
					return nil, err
				}
			}
			return body, nil
		}
	}
	return tokenhttp.NewClient(base, o)
}

// tokenRewriters collects the TokenResponseHook hooks.
func (p *Provider) tokenRewriters() []TokenResponseHook {
	var out []TokenResponseHook
	for _, h := range p.cfg.Hooks {
		if rw, ok := h.(TokenResponseHook); ok {
			out = append(out, rw)
		}
	}
	return out
}

// tokenError is tokenhttp.Error with the client secret among the secrets.
func (p *Provider) tokenError(err error, rec *tokenhttp.Record, secrets ...string) error {
	return tokenhttp.Alias(tokenhttp.Error(err, rec, p.now(), append(secrets, p.cfg.ClientSecret)...), p.cfg.ErrorAliases)
}
