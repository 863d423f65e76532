// Package providerconfig is the contract between the configuration file
// and the provider types: each type (oidc, oauth2, every preset) owns a
// Config that the configuration package decodes from the type's entry
// under providers:, checks, and opens into a providers.Provider. It also
// holds the checks the types share. It lives with the providers, not with
// the application's configuration, so that provider packages never import
// the application.
package providerconfig

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/sessionbridge/sessionbridge/providers"
)

// Config is one provider type's configuration: a pointer to a struct
// whose yaml tags name the entry's keys besides the ones every entry has
// (type, display_name and the refresher's limits, which the configuration
// package keeps). The configuration package decodes the entry into it
// strictly, with file and line for every problem, as Dex decodes a
// connector's config.
type Config interface {
	// Check validates the decoded keys. It may fill defaults that later
	// checks or Open rely on.
	Check() []FieldError
	// Open builds the provider. ctx is the provider's lifetime (OpenID
	// discovery is retried in the background until it ends). Open
	// refuses what Check refuses, so a configuration built in code
	// cannot skip the checks.
	Open(ctx context.Context, env Env) (providers.Provider, error)
}

// FormChecker is implemented by configurations whose keys can be checked
// for form alone, without their type's data (a preset's entry without the
// catalog's requirements); see bridge/config.Loader.Types.
type FormChecker interface {
	CheckForm() []FieldError
}

// Targeter is implemented by configurations whose URLs `sessionbridge
// check --online` can reach.
type Targeter interface {
	Targets() ([]Target, error)
}

// Target is one URL `check --online` reaches for a provider, with the
// configuration key that decides it: a problem is reported at that key's
// line ("issuer", "settings.base_url", "token_url"; "type" when a preset
// fixes the URL itself).
type Target struct {
	Key       string
	URL       string
	Discovery bool // an issuer: fetch and validate its discovery document
}

// Env is what Open needs besides the configuration: the entry's common
// keys and the injected dependencies.
type Env struct {
	// Key is the provider key (Session.provider, in callback URLs).
	Key string
	// DisplayName is the entry's display_name; empty lets the type choose
	// (a preset's own name, else the key).
	DisplayName string
	// RedirectURL is the callback URL registered at the provider.
	RedirectURL string
	HTTPClient  *http.Client
	Logger      *slog.Logger
	Now         func() time.Time
	// RewriteURL, when set, maps every endpoint URL (and issuer) after
	// templates are expanded. It exists so tests can point a provider at
	// a fake over loopback; production code leaves it nil.
	RewriteURL func(string) string
}

// Redacted is how a configuration prints a secret: never the value, only
// whether there is one. Each Config implements fmt.Stringer and
// fmt.GoStringer with it, so printing a configuration with %v, %+v or %#v
// never shows its client secret.
func Redacted(secret string) string {
	if secret == "" {
		return "(empty)"
	}
	return "[redacted]"
}

// Rewrite applies RewriteURL to u (never to an empty URL).
func (e Env) Rewrite(u string) string {
	if e.RewriteURL == nil || u == "" {
		return u
	}
	return e.RewriteURL(u)
}

// FieldError is one problem in a provider entry. Field is relative to the
// entry (e.g. "client_id", "claims.uid"); empty means the entry as a
// whole. The configuration package prefixes it with "providers.KEY." and
// places it at the line of that key.
type FieldError struct {
	Field   string
	Message string
}

// Problems collects FieldErrors in the order they are found (the order in
// which `sessionbridge check` prints problems of one line).
type Problems []FieldError

// Add records a problem with field.
func (ps *Problems) Add(field, msg string) {
	*ps = append(*ps, FieldError{Field: field, Message: msg})
}

// Addf records a formatted problem with field.
func (ps *Problems) Addf(field, format string, args ...any) {
	ps.Add(field, fmt.Sprintf(format, args...))
}

// Error joins the problems as one error naming the keys under
// providers.KEY, for Open; nil when there are none.
func (ps Problems) Error(key string) error {
	if len(ps) == 0 {
		return nil
	}
	var errs []error
	for _, e := range ps {
		errs = append(errs, fmt.Errorf("providers.%s.%s: %s", key, e.Field, e.Message))
	}
	return errors.Join(errs...)
}
