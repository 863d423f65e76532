package oauth2

import (
	"net/http"
	"testing"
)

// A provider that never answers must not hold a login or refresh open when
// the caller's context has no deadline: without an injected client, or with
// one that has no Timeout, every request still gets DefaultTimeout.
func TestClientsHaveATimeout(t *testing.T) {
	cfg := Config{Key: "k", ClientID: "id", AuthURL: "https://a.example/auth", TokenURL: "https://a.example/token", Claims: Claims{UID: "id"}}
	for _, base := range []*http.Client{nil, {}} {
		p, err := New(cfg, "https://bridge.example/cb", Options{HTTPClient: base})
		if err != nil {
			t.Fatal(err)
		}
		if p.tokenClient.Timeout != DefaultTimeout || p.apiClient.Timeout != DefaultTimeout {
			t.Fatalf("timeouts: token %v, user-info %v", p.tokenClient.Timeout, p.apiClient.Timeout)
		}
	}
}
