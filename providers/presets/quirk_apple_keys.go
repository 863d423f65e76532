package presets

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/internal/keyset"
	"github.com/sessionbridge/sessionbridge/providers/internal/tokenhttp"
	"github.com/sessionbridge/sessionbridge/providers/oauth2"
)

// Apple publishes no discovery document the bridge relies on; its issuer
// and key set URL are fixed and documented.
const (
	appleIssuer  = "https://appleid.apple.com"
	appleKeysURL = "https://appleid.apple.com/auth/keys"
)

// appleKeys verifies Apple ID tokens. It holds one go-oidc remote key set
// per provider, so the keys are fetched once and cached across logins,
// and fetched again only when a token names a key not seen yet (Apple's
// key rotation).
type appleKeys struct {
	issuer   string
	clientID string
	verifier *gooidc.IDTokenVerifier
	// sigVerifier checks the signature alone; it names the failed check
	// of a refused token (go-oidc's errors are untyped but for expiry).
	sigVerifier *gooidc.IDTokenVerifier
}

// newAppleKeys builds the verifier. keysURL is appleKeysURL, rewritten in
// tests; the issuer is a claim value, never fetched, so it is not.
func newAppleKeys(clientID, keysURL string, client *http.Client, now func() time.Time) *appleKeys {
	if client == nil {
		client = http.DefaultClient
	}
	if client.Timeout == 0 {
		// go-oidc fetches keys with a context it never cancels, and every
		// verification waits for that one fetch: only a client timeout
		// keeps a hung key server from holding the fetch open for good.
		c := *client
		c.Timeout = oauth2.DefaultTimeout
		client = &c
	}
	// Bounded answers, and no error body quoted into go-oidc's errors.
	client = tokenhttp.NewClient(client, tokenhttp.Options{FollowRedirects: true, DropErrorBody: true})
	keySet := keyset.New(client, keysURL)
	algs := []string{gooidc.RS256}
	return &appleKeys{
		issuer:   appleIssuer,
		clientID: clientID,
		verifier: gooidc.NewVerifier(appleIssuer, keySet, &gooidc.Config{
			ClientID: clientID, Now: now, SupportedSigningAlgs: algs,
		}),
		sigVerifier: gooidc.NewVerifier(appleIssuer, keySet, &gooidc.Config{
			SkipClientIDCheck: true, SkipExpiryCheck: true, SkipIssuerCheck: true, SupportedSigningAlgs: algs,
		}),
	}
}

// classify names the check a refused ID token failed: the token is
// verified again for its signature alone and, when that holds, its claims
// are compared by value. The token stays refused whatever this finds.
func (k *appleKeys) classify(ctx context.Context, raw string, err error) error {
	if _, ok := errors.AsType[*gooidc.TokenExpiredError](err); ok {
		return &providers.VerificationError{Check: "exp", Err: err}
	}
	t, serr := k.sigVerifier.Verify(ctx, raw)
	if serr != nil {
		return &providers.VerificationError{Check: "signature", Err: quietKeys(err)}
	}
	switch {
	case t.Issuer != k.issuer:
		return &providers.VerificationError{Check: "iss", Err: err}
	case !slices.Contains(t.Audience, k.clientID):
		return &providers.VerificationError{Check: "aud", Err: err}
	default:
		return &providers.VerificationError{Check: "id_token", Err: err}
	}
}

// quietKeys keeps a key set answer that is not JSON out of the error:
// go-oidc appends the whole body to its decode failure, and the error ends
// up in login errors and logs.
func quietKeys(err error) error {
	msg := err.Error()
	if i := strings.Index(msg, "failed to decode keys"); i >= 0 {
		return fmt.Errorf("%sthe key set answer is not a JSON Web Key Set", msg[:i])
	}
	return err
}
