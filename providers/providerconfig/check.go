package providerconfig

import (
	"fmt"
	"maps"
	"net/netip"
	"net/url"
	"slices"
	"strings"
)

// Built-in provider types; every other type names a preset.
const (
	TypeOIDC   = "oidc"
	TypeOAuth2 = "oauth2"
)

// Keys of an oauth2 provider's claims mapping: each names the user-info
// field that holds the value. ClaimUID is required.
const (
	ClaimUID           = "uid"
	ClaimEmail         = "email"
	ClaimEmailVerified = "email_verified"
	ClaimName          = "name"
)

// DefaultAuthStyle is how token requests of oidc and oauth2 providers
// authenticate when auth_style is not set (a preset has its own).
const DefaultAuthStyle = "basic"

var (
	claimKeys  = []string{ClaimUID, ClaimEmail, ClaimEmailVerified, ClaimName}
	authStyles = []string{"basic", "post"}
)

// ReservedParams are authorization parameters the login sets itself; no
// configuration may set them through auth_params.
var ReservedParams = []string{"client_id", "redirect_uri", "response_type", "scope", "state", "code_challenge", "code_challenge_method", "nonce"}

// Client are the keys every OAuth client entry has, as CheckClient takes
// them.
type Client struct {
	ClientID, ClientSecret string
	Scopes                 []string
	// AuthStyle is basic or post; empty means basic.
	AuthStyle string
	Claims    map[string]string
}

// CheckClient checks the keys every type shares: credentials without
// stray whitespace, scopes one per item, auth_style, and the names of the
// claims mapping (which only oauth2-style providers read).
func CheckClient(ps *Problems, c Client) {
	for _, kv := range []struct{ name, value string }{{"client_id", c.ClientID}, {"client_secret", c.ClientSecret}} {
		if kv.value != strings.TrimSpace(kv.value) {
			ps.Add(kv.name, "has leading or trailing whitespace (check the value or the environment variable it comes from)")
		}
	}
	for i, s := range c.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n") {
			ps.Add(fmt.Sprintf("scopes[%d]", i), "a scope must be non-empty and contain no spaces (list each scope separately)")
		}
	}
	if c.AuthStyle != "" && !slices.Contains(authStyles, c.AuthStyle) {
		ps.Addf("auth_style", "%q is not one of: %s", c.AuthStyle, strings.Join(authStyles, ", "))
	}
	for _, name := range slices.Sorted(maps.Keys(c.Claims)) {
		if !slices.Contains(claimKeys, name) {
			ps.Addf("claims."+name, "unknown claim %q; valid claims: %s", name, strings.Join(claimKeys, ", "))
		} else if c.Claims[name] == "" {
			ps.Add("claims."+name, "must name a user-info field")
		}
	}
}

// CheckAuthParams refuses auth_params the login sets itself.
func CheckAuthParams(ps *Problems, params map[string]string) {
	for _, name := range slices.Sorted(maps.Keys(params)) {
		if slices.Contains(ReservedParams, name) || name == "" {
			ps.Add("auth_params."+name, "is set by the login itself and cannot be configured")
		}
	}
}

// Unused reports each key that is set but means nothing for this type,
// with msg saying why.
func Unused(ps *Problems, msg string, keys ...Key) {
	for _, k := range keys {
		if k.Set {
			ps.Add(k.Name, msg)
		}
	}
}

// Key is a configuration key and whether the entry sets it, for Unused.
type Key struct {
	Name string
	Set  bool
}

// StringKey is a string key, set when not empty.
func StringKey(name, value string) Key { return Key{Name: name, Set: value != ""} }

// MapKey is a mapping key, set when it has entries.
func MapKey[V any](name string, m map[string]V) Key { return Key{Name: name, Set: len(m) > 0} }

// EndpointProblem checks a provider URL: absolute, https unless the host
// is loopback (contract §4), no credentials or fragment. An issuer may
// have a path but no query either, as OpenID Connect Discovery requires.
// It returns "" for a good URL.
func EndpointProblem(raw string, issuer bool) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Sprintf("%q must be an absolute https:// URL", raw)
	}
	if u.Scheme == "http" && !IsLoopback(u.Hostname()) {
		return fmt.Sprintf("%q must use https (plain http is allowed only on loopback: localhost, 127.0.0.0/8, ::1)", raw)
	}
	if u.User != nil {
		return "must not contain a user name or password (use client_id and client_secret)"
	}
	if u.Fragment != "" || strings.HasSuffix(raw, "#") {
		return fmt.Sprintf("%q must not have a fragment", raw)
	}
	if issuer && (u.RawQuery != "" || strings.HasSuffix(raw, "?")) {
		return fmt.Sprintf("%q must not have a query (an issuer is scheme, host and optional path)", raw)
	}
	return ""
}

// IsLoopback reports whether host names this machine: localhost or a
// loopback IP address.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.Unmap().IsLoopback()
}
