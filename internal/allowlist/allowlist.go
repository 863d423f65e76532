// Package allowlist decides which URLs the bridge may redirect a browser to
// after a login, and which origins get CORS with credentials. Both are
// open-redirect and credential-leak decisions, so the parsing here is
// deliberately stricter than net/url: anything a browser might read
// differently from Go (backslashes, userinfo, percent-encoded hosts,
// whitespace, trailing dots) is refused rather than normalised.
package allowlist

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// List is an immutable set of allowed origins: the bridge's own origin,
// exact origins and one-level wildcard origins. It is safe for concurrent use.
type List struct {
	own       origin
	exact     map[origin]struct{}
	wildcards []origin // host holds the suffix after "*."
}

// origin is a normalised (scheme, host, port) tuple: scheme and host in
// lower case, IPv6 hosts in brackets, the port always explicit.
type origin struct {
	scheme string
	host   string
	port   int
}

func (o origin) String() string {
	if o.port == defaultPort(o.scheme) {
		return o.scheme + "://" + o.host
	}
	return o.scheme + "://" + o.host + ":" + strconv.Itoa(o.port)
}

// New builds a List. ownOrigin is the bridge's public URL (a trailing slash
// is allowed); patterns are entries as accepted by ValidatePattern.
func New(ownOrigin string, patterns []string) (*List, error) {
	own, rest, err := parse(ownOrigin, false)
	if err != nil {
		return nil, fmt.Errorf("own origin: %w", err)
	}
	if rest != "" && rest != "/" {
		return nil, errors.New("own origin: must not have a path, query or fragment")
	}
	l := &List{own: own, exact: make(map[origin]struct{})}
	for _, p := range patterns {
		o, wild, err := parsePattern(p)
		if err != nil {
			return nil, fmt.Errorf("pattern %q: %w", p, err)
		}
		if wild {
			l.wildcards = append(l.wildcards, o)
		} else {
			l.exact[o] = struct{}{}
		}
	}
	return l, nil
}

// ValidatePattern reports whether p is a valid allowlist entry: an exact
// origin such as https://app.example.com (optionally with a port) or a
// one-level wildcard such as https://*.example.com. Paths, queries,
// userinfo and wildcards anywhere but the whole first label are refused.
func ValidatePattern(p string) error {
	_, _, err := parsePattern(p)
	return err
}

// Origin returns the bridge's own origin in serialised form.
func (l *List) Origin() string { return l.own.String() }

// AllowsURL reports whether raw is an absolute http(s) URL whose origin is
// allowed. Relative and scheme-relative URLs are refused: callers that
// want to allow a path on the bridge itself must make it absolute first.
func (l *List) AllowsURL(raw string) bool {
	o, _, err := parse(raw, false)
	return err == nil && l.allows(o)
}

// AllowsOrigin reports whether an Origin request header value is allowed
// for CORS. The value must be a bare origin (no path, not even "/"); the
// literal "null" is never allowed.
func (l *List) AllowsOrigin(originHeader string) bool {
	o, rest, err := parse(originHeader, false)
	return err == nil && rest == "" && l.allows(o)
}

func (l *List) allows(o origin) bool {
	if o == l.own {
		return true
	}
	if _, ok := l.exact[o]; ok {
		return true
	}
	for _, w := range l.wildcards {
		if o.scheme != w.scheme || o.port != w.port {
			continue
		}
		label, ok := strings.CutSuffix(o.host, "."+w.host)
		// One level only: the wildcard stands for exactly one label.
		if ok && label != "" && !strings.Contains(label, ".") && validLabel(label) {
			return true
		}
	}
	return false
}

// parsePattern parses an allowlist entry; wild reports a "*." pattern, in
// which case the returned host is the suffix.
func parsePattern(p string) (o origin, wild bool, err error) {
	o, rest, err := parse(p, true)
	if err != nil {
		return origin{}, false, err
	}
	if rest != "" && rest != "/" {
		return origin{}, false, errors.New("must be an origin such as https://app.example.com, without a path, query or fragment")
	}
	if suffix, ok := strings.CutPrefix(o.host, "*."); ok {
		if strings.HasPrefix(suffix, "[") || isIPv4(suffix) {
			return origin{}, false, errors.New("a wildcard cannot be combined with an IP address")
		}
		if !strings.Contains(suffix, ".") && suffix != "localhost" {
			return origin{}, false, errors.New("a wildcard needs at least two labels after it, as in https://*.example.com")
		}
		o.host = suffix
		return o, true, nil
	}
	return o, false, nil
}

// parse splits raw into its normalised origin and the rest (path, query,
// fragment, starting with "/", "?" or "#", or ""). With pattern set, the
// host may start with the label "*".
func parse(raw string, pattern bool) (origin, string, error) {
	scheme, after, err := splitScheme(raw)
	if err != nil {
		return origin{}, "", err
	}
	end := strings.IndexAny(after, "/?#")
	if end < 0 {
		end = len(after)
	}
	authority, rest := after[:end], after[end:]
	if strings.ContainsAny(authority, "@%") {
		return origin{}, "", errors.New("must not contain userinfo or percent-encoding in the host")
	}
	host, port, err := splitHostPort(authority, scheme)
	if err != nil {
		return origin{}, "", err
	}
	if host, err = normaliseHost(host, pattern); err != nil {
		return origin{}, "", err
	}
	// Defence in depth: whatever later redirects with net/url must see the
	// same scheme and host as we did.
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || u.Opaque != "" || !strings.EqualFold(u.Host, authority) {
		return origin{}, "", errors.New("is not a well-formed URL")
	}
	return origin{scheme: scheme, host: host, port: port}, rest, nil
}

// splitScheme checks that raw is plain text with an http or https scheme
// and returns the lower-cased scheme and what follows "://". Control
// characters and backslashes are refused first: browsers and net/url read
// them differently, which is how allowlist bypasses are built.
func splitScheme(raw string) (scheme, after string, err error) {
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c == 0x7f || c == '\\' {
			return "", "", errors.New("must not contain whitespace, control characters or backslashes")
		}
	}
	scheme, after, ok := strings.Cut(raw, "://")
	if !ok {
		return "", "", errors.New("must be an absolute URL starting with https:// or http://")
	}
	scheme = strings.ToLower(scheme)
	if scheme != "https" && scheme != "http" {
		return "", "", errors.New("scheme must be https or http")
	}
	return scheme, after, nil
}

func splitHostPort(authority, scheme string) (string, int, error) {
	host, portText, err := cutPort(authority)
	if err != nil {
		return "", 0, err
	}
	if host == "" {
		return "", 0, errors.New("must have a host")
	}
	if portText == "" {
		return host, defaultPort(scheme), nil
	}
	port, err := parsePort(portText)
	if err != nil {
		return "", 0, err
	}
	return host, port, nil
}

// cutPort splits an authority into host (IPv6 addresses keep their
// brackets) and port text, refusing an empty port after ":" so that
// "https://a.example:" is not read as the default port.
func cutPort(authority string) (host, portText string, err error) {
	if !strings.HasPrefix(authority, "[") {
		i := strings.LastIndexByte(authority, ':')
		if i < 0 {
			return authority, "", nil
		}
		if i == len(authority)-1 {
			return "", "", errors.New("has an empty port")
		}
		return authority[:i], authority[i+1:], nil
	}
	i := strings.IndexByte(authority, ']')
	if i < 0 {
		return "", "", errors.New("has an unterminated IPv6 address")
	}
	host, portText = authority[:i+1], authority[i+1:]
	if portText != "" && portText[0] != ':' {
		return "", "", errors.New("has text after the IPv6 address")
	}
	if portText == ":" {
		return "", "", errors.New("has an empty port")
	}
	return host, strings.TrimPrefix(portText, ":"), nil
}

// parsePort accepts only decimal digits (strconv.Atoi would take "+80")
// in the range 1-65535.
func parsePort(text string) (int, error) {
	for _, c := range text {
		if c < '0' || c > '9' {
			return 0, errors.New("has an invalid port")
		}
	}
	port, err := strconv.Atoi(text)
	if err != nil || port < 1 || port > 65535 {
		return 0, errors.New("has an invalid port")
	}
	return port, nil
}

func normaliseHost(host string, pattern bool) (string, error) {
	if strings.HasPrefix(host, "[") {
		addr, err := netip.ParseAddr(strings.TrimSuffix(host[1:], "]"))
		if err != nil || !addr.Is6() || addr.Zone() != "" {
			return "", errors.New("has an invalid IPv6 address")
		}
		return "[" + addr.String() + "]", nil
	}
	host = strings.ToLower(host)
	labels := strings.Split(host, ".")
	for i, label := range labels {
		if pattern && i == 0 && label == "*" && len(labels) > 1 {
			continue
		}
		if strings.Contains(label, "*") {
			return "", errors.New("a wildcard may only be the whole first label, as in https://*.example.com")
		}
		if !validLabel(label) {
			return "", errors.New("has an invalid host name (letters, digits, '-' and '.' only; no empty labels or trailing dot)")
		}
	}
	return host, nil
}

// validLabel accepts one lower-case DNS label. Underscores are allowed
// because browsers accept them in host names.
func validLabel(label string) bool {
	if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
		return false
	}
	for i := 0; i < len(label); i++ {
		c := label[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func isIPv4(host string) bool {
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.Is4()
}

func defaultPort(scheme string) int {
	if scheme == "https" {
		return 443
	}
	return 80
}
