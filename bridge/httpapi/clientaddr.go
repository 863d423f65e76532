package httpapi

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientIP is the address of the client behind a request. The peer is the
// client unless it is a trusted proxy (loopback, or in TrustedProxies):
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
	if a.IsLoopback() {
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
