package oauth2

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Configured user-info headers may carry the client secret (Etsy's
// x-api-key): a redirect to another host must not take them along.
func TestConfiguredHeadersStayOnTheirHost(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]string{}
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen["other"] = r.Header.Get("X-Api-Key")
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"1"}`))
	}))
	defer other.Close()
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen["origin"] = r.Header.Get("X-Api-Key")
		mu.Unlock()
		http.Redirect(w, r, other.URL+"/me", http.StatusFound)
	}))
	defer origin.Close()

	a := &API{client: http.DefaultClient, accessToken: "at", clientID: "id", clientSecret: "shh-secret",
		headers: map[string]string{"X-Api-Key": "{client_id}:{client_secret}"}}
	if _, err := a.Get(context.Background(), origin.URL+"/me"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if seen["origin"] != "id:shh-secret" {
		t.Errorf("the provider's own host got x-api-key %q", seen["origin"])
	}
	if seen["other"] != "" {
		t.Errorf("the redirect target got x-api-key %q", seen["other"])
	}
}
