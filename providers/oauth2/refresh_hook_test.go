package oauth2_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/oauth2"
	"github.com/sessionbridge/sessionbridge/providers/providertest"
)

// refreshHook records what it was given and answers err.
type refreshHook struct {
	err error

	mu    sync.Mutex
	calls []oauth2.RefreshInput
}

func (h *refreshHook) CheckRefresh(_ context.Context, in oauth2.RefreshInput) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, in)
	return h.err
}

var _ oauth2.RefreshHook = (*refreshHook)(nil)

// TestRefreshHook: the hook sees the refresh answer's id_token and the
// grant's subject; its error refuses the refresh permanently, except an
// UnavailableError, which stays transient; a failed token request never
// reaches it.
func TestRefreshHook(t *testing.T) {
	for _, tc := range []struct {
		name      string
		err       error
		permanent bool
	}{
		{"accepted", nil, false},
		{"plain error", errors.New("sub changed"), true},
		{"verification error", &providers.VerificationError{Check: "sub"}, true},
		{"unavailable", &providers.UnavailableError{Provider: "legacy", Err: errors.New("keys unreachable")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := newSpec()
			spec.Refresh = providertest.Response{Body: `{"access_token":"{access_token}","token_type":"bearer","expires_in":7200,"id_token":"header.claims.sig","n":12345678901234567890}`}
			f := providertest.New(t, spec)
			h := &refreshHook{err: tc.err}
			c := newConfig()
			c.Hooks = []any{h}
			p := build(t, f, c)
			l, err := login(t, p, authRequest())
			if err != nil {
				t.Fatal(err)
			}
			tok, err := p.Refresh(context.Background(), providers.RefreshRequest{RefreshToken: l.Token.RefreshToken, Subject: l.Identity.Subject})
			h.mu.Lock()
			calls := h.calls
			h.mu.Unlock()
			if len(calls) != 1 {
				t.Fatalf("hook called %d times", len(calls))
			}
			in := calls[0]
			if in.IDToken != "header.claims.sig" || in.Subject != l.Identity.Subject || in.ClientID != clientID || !in.Now.Equal(fixedNow) {
				t.Fatalf("hook input %+v", in)
			}
			if n, _ := in.Token["n"].(interface{ String() string }); n == nil || n.String() != "12345678901234567890" {
				t.Fatalf("hook token answer %v", in.Token)
			}
			switch {
			case tc.err == nil:
				if err != nil || tok.IDToken != "header.claims.sig" {
					t.Fatalf("Refresh: %v %v", tok, err)
				}
			case tc.permanent:
				if _, ok := errors.AsType[*providers.VerificationError](err); !ok || !providers.IsPermanent(err) || tok != nil {
					t.Fatalf("got %v, want a permanent VerificationError", err)
				}
			default:
				if _, ok := errors.AsType[*providers.UnavailableError](err); !ok || providers.IsPermanent(err) || tok != nil {
					t.Fatalf("got %v, want a transient UnavailableError", err)
				}
			}
		})
	}

	t.Run("failed token request", func(t *testing.T) {
		f := providertest.New(t, newSpec())
		h := &refreshHook{}
		c := newConfig()
		c.Hooks = []any{h}
		p := build(t, f, c)
		if _, err := p.Refresh(context.Background(), providers.RefreshRequest{RefreshToken: "rt-unknown"}); !providers.IsPermanent(err) {
			t.Fatalf("unknown refresh token: %v", err)
		}
		if len(h.calls) != 0 {
			t.Fatalf("hook called %d times after a failed token request", len(h.calls))
		}
	})
}
