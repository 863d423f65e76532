package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// provider is the fake OpenID provider: discovery and a token endpoint
// that answers refreshes at once. A refresh token carries its access
// token's expiry ("rt.<unix ms>.<n>"), so the endpoint can tell how late
// each refresh came: lateness is the request time minus (expiry -
// before_expiry), when positive.
type provider struct {
	url         string
	ttl, before time.Duration

	counting  atomic.Bool
	refreshes atomic.Int64
	expired   atomic.Int64 // refreshed after the access token expired
	mu        sync.Mutex
	lateness  []time.Duration
}

func startProvider(ttl, before time.Duration) (*provider, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &provider{url: "http://" + l.Addr().String(), ttl: ttl, before: before}
	m := http.NewServeMux()
	m.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": p.url, "authorization_endpoint": p.url + "/authorize", "token_endpoint": p.url + "/token",
			"jwks_uri": p.url + "/jwks", "response_types_supported": []string{"code"},
			"subject_types_supported": []string{"public"}, "id_token_signing_alg_values_supported": []string{"ES256"},
		})
	})
	m.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"keys":[]}`)) })
	m.HandleFunc("POST /token", p.token)
	go func() { _ = http.Serve(l, m) }()
	return p, nil
}

func refreshToken(expiry time.Time, n string) string {
	return "rt." + strconv.FormatInt(expiry.UnixMilli(), 10) + "." + n
}

func (p *provider) token(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	parts := strings.SplitN(r.PostFormValue("refresh_token"), ".", 3)
	if r.PostFormValue("grant_type") != "refresh_token" || len(parts) != 3 {
		http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
		return
	}
	ms, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
		return
	}
	expiry := time.UnixMilli(ms)
	if p.counting.Load() {
		p.refreshes.Add(1)
		if now.After(expiry) {
			p.expired.Add(1)
		}
		p.mu.Lock()
		p.lateness = append(p.lateness, max(0, now.Sub(expiry.Add(-p.before))))
		p.mu.Unlock()
	}
	next := now.Add(p.ttl)
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"access_token":"at.%d.%s","token_type":"Bearer","expires_in":%d,"refresh_token":%q}`,
		now.UnixNano(), parts[2], int(p.ttl.Seconds()), refreshToken(next, parts[2]))
}

// latenessStats returns the worst and the 99th percentile lateness.
func (p *provider) latenessStats() (worst, p99 time.Duration) {
	p.mu.Lock()
	l := slices.Clone(p.lateness)
	p.mu.Unlock()
	if len(l) == 0 {
		return 0, 0
	}
	slices.Sort(l)
	return l[len(l)-1], l[len(l)*99/100]
}
