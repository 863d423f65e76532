// Package keyset wraps go-oidc's remote key set so that a failed signature
// check can be told apart: a forged token, or a key server that is down.
//
// go-oidc's verifier flattens the key set's error into a string, and the
// two cases call for opposite answers: a forged token is refused for good,
// while a key server outage is transient. A login may be tried again, and
// a refresh answer must not be thrown away for it when the rotated
// refresh token it carries exists nowhere else.
//
// The Set sits on the transport of the client go-oidc fetches keys with,
// remembers how the latest fetch went, and marks the context of a check
// (see Watch) when a fetch made during that check failed.
package keyset

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
)

// Set is a go-oidc KeySet backed by the key set at a URL.
type Set struct {
	remote gooidc.KeySet
	watch  *fetchWatch
}

var _ gooidc.KeySet = (*Set)(nil)

// New returns the key set at jwksURL, fetched with client (which should
// have a timeout: go-oidc fetches with a context it never cancels).
func New(client *http.Client, jwksURL string) *Set {
	base := client.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	w := &fetchWatch{base: base}
	watched := *client
	watched.Transport = w
	// The context only carries the client: go-oidc ignores its cancellation.
	return &Set{remote: gooidc.NewRemoteKeySet(gooidc.ClientContext(context.Background(), &watched), jwksURL), watch: w}
}

// VerifySignature implements gooidc.KeySet.
func (s *Set) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	start := time.Now()
	before, _, _ := s.watch.state()
	payload, err := s.remote.VerifySignature(ctx, jwt)
	if err != nil {
		after, failed, at := s.watch.state()
		// A fetch that failed during this check, or just before it: a
		// check may join go-oidc's fetch after its answer came in but
		// before go-oidc handed it to the waiting checks.
		if failed && (after != before || start.Sub(at) < joinWindow) {
			if n, ok := ctx.Value(noteKey{}).(*Note); ok {
				n.unavailable.Store(true)
			}
		}
	}
	return payload, err
}

// joinWindow bounds how long before a check a failed fetch may have ended
// and still be the one the check waited for.
const joinWindow = time.Second

// Note learns, through the context of one verification, whether the key
// set could not be fetched during it.
type Note struct{ unavailable atomic.Bool }

// Unavailable reports that a key fetch made during the verification failed
// (no answer, not 200, or not a key set), so a failed signature check is
// no verdict on the token.
func (n *Note) Unavailable() bool { return n.unavailable.Load() }

type noteKey struct{}

// Watch returns a context to verify with, and the Note it fills.
func Watch(ctx context.Context) (context.Context, *Note) {
	n := &Note{}
	return context.WithValue(ctx, noteKey{}, n), n
}

// fetchWatch is the transport under go-oidc's fetches.
type fetchWatch struct {
	base http.RoundTripper

	mu      sync.Mutex
	fetches uint64    // requests completed
	failed  bool      // the latest one failed: no answer, not 200, or no key set
	at      time.Time // when the latest one completed
}

func (w *fetchWatch) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := w.base.RoundTrip(req)
	failed := err != nil || resp.StatusCode != http.StatusOK
	if !failed {
		// A maintenance page served with 200 is an outage too: the
		// answer must be a key set. The body is read here (the base
		// transport bounds it) and handed on unchanged.
		body, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		failed = rerr != nil || !isKeySet(body)
	}
	w.mu.Lock()
	w.fetches++
	w.failed = failed
	w.at = time.Now()
	w.mu.Unlock()
	return resp, err
}

// isKeySet reports whether body is a JSON object with a "keys" array.
func isKeySet(body []byte) bool {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	return json.Unmarshal(body, &doc) == nil && doc.Keys != nil
}

func (w *fetchWatch) state() (fetches uint64, failed bool, at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.fetches, w.failed, w.at
}
