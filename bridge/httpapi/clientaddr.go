package httpapi

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientIP is the address of the client behind a request. The peer is the
// client unless it is a trusted proxy (in TrustedProxies; loopback only
// with TrustLoopback, development mode):
// then X-Forwarded-For is read from the right, skipping trusted proxies,
// and the first address that is not one is the client. Reading from the
// right means a client cannot choose its address by sending its own
// X-Forwarded-For: only hops that trusted proxies appended count.
func (s *Server) clientIP(r *http.Request) string {
	peer := parseAddr(r.RemoteAddr)
	if !peer.IsValid() {
		return ""
	}
	if !s.trusted(peer) {
		s.warnUntrustedLoopback(r, peer)
		return peer.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		hop := parseAddr(strings.TrimSpace(hops[i]))
		if !hop.IsValid() {
			break // garbage: believe nothing further to the left
		}
		client = hop
		if !s.trusted(hop) {
			break
		}
	}
	return client.String()
}

func (s *Server) trusted(a netip.Addr) bool {
	if a.IsLoopback() && s.o.TrustLoopback {
		return true
	}
	for _, p := range s.o.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseAddr reads "ip", "ip:port" or "[ip]:port", unmapping IPv4-in-IPv6.
func parseAddr(v string) netip.Addr {
	if host, _, err := net.SplitHostPort(v); err == nil {
		v = host
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap().WithZone("")
}

// warnUntrustedLoopback logs once per process when a loopback peer sends
// X-Forwarded-For that is not believed: most likely a same-host proxy left
// out of trusted_proxies, which would put every client into one rate-limit
// bucket and one session ip without a word.
func (s *Server) warnUntrustedLoopback(r *http.Request, peer netip.Addr) {
	if !peer.IsLoopback() || r.Header.Get("X-Forwarded-For") == "" {
		return
	}
	s.xffWarn.Do(func() {
		s.log.Warn("a loopback peer sent X-Forwarded-For, which is ignored: if a proxy on this host forwards to sessionbridge, add its address (e.g. 127.0.0.1/32) to trusted_proxies",
			"peer", peer.String())
	})
}

// rateKey is the rate-limit key of a client address: the address, except
// that IPv6 clients are keyed by their /64, the smallest block a site is
// usually given (a client rotating addresses inside it stays one client).
func rateKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is6() || a.Is4In6() {
		return ip
	}
	p, _ := a.Prefix(64)
	return p.String()
}
