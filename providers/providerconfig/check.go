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

var (
	claimKeys  = []string{ClaimUID, ClaimEmail, ClaimEmailVerified, ClaimName}
	authStyles = []string{"basic", "post"}
)

// FieldError is one problem in a provider entry. Field is relative to the
// entry (e.g. "client_id", "claims.uid"); empty means the entry as a
// whole. The configuration package prefixes it with "providers.KEY." and
// places it at the line of that key.
type FieldError struct {
	Field   string
	Message string
}

// problems collects FieldErrors in the order they are found (the order
// `sessionbridge check` prints problems on one line).
type problems []FieldError

func (ps *problems) add(field, msg string) {
	*ps = append(*ps, FieldError{Field: field, Message: msg})
}

// Check validates the keys every provider type shares and, for the
// built-in types oidc and oauth2, their own keys. Presets are checked by
// the preset catalog; an empty or unknown type is left to the caller,
// which knows the valid type names.
func Check(p *Provider) []FieldError {
	var ps problems
	checkShared(p, &ps)
	switch p.Type {
	case TypeOIDC:
		checkOIDC(p, &ps)
	case TypeOAuth2:
		checkOAuth2(p, &ps)
	}
	return ps
}

// checkShared checks client credentials, scopes, auth_style and the
// claims mapping's names, which mean the same for every type.
func checkShared(p *Provider, ps *problems) {
	for _, kv := range []struct{ name, value string }{{"client_id", p.ClientID}, {"client_secret", p.ClientSecret}} {
		if kv.value != strings.TrimSpace(kv.value) {
			ps.add(kv.name, "has leading or trailing whitespace (check the value or the environment variable it comes from)")
		}
	}
	for i, s := range p.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n") {
			ps.add(fmt.Sprintf("scopes[%d]", i), "a scope must be non-empty and contain no spaces (list each scope separately)")
		}
	}
	if !slices.Contains(authStyles, p.AuthStyle) {
		ps.add("auth_style", fmt.Sprintf("%q is not one of: %s", p.AuthStyle, strings.Join(authStyles, ", ")))
	}
	for _, name := range slices.Sorted(maps.Keys(p.Claims)) {
		if !slices.Contains(claimKeys, name) {
			ps.add("claims."+name, fmt.Sprintf("unknown claim %q; valid claims: %s", name, strings.Join(claimKeys, ", ")))
		} else if p.Claims[name] == "" {
			ps.add("claims."+name, "must name a user-info field")
		}
	}
}

// checkOIDC checks type oidc: an issuer to discover and a client ID; the
// endpoints of type oauth2 would be ignored, so they are refused.
func checkOIDC(p *Provider, ps *problems) {
	if p.Issuer == "" {
		ps.add("issuer", "is required for type oidc (the URL whose /.well-known/openid-configuration describes the provider)")
	} else if msg := endpointProblem(p.Issuer, true); msg != "" {
		ps.add("issuer", msg)
	}
	if p.ClientID == "" {
		ps.add("client_id", "is required for type oidc")
	}
	for _, kv := range []struct{ name, value string }{{"auth_url", p.AuthURL}, {"token_url", p.TokenURL}, {"userinfo_url", p.UserinfoURL}} {
		if kv.value != "" {
			ps.add(kv.name, "applies only to type oauth2; an oidc provider finds its endpoints through discovery at the issuer")
		}
	}
}

// checkOAuth2 checks type oauth2: both endpoints, the user-info URL when
// set, and the claim holding the user's stable ID; an issuer would be
// ignored, so it is refused.
func checkOAuth2(p *Provider, ps *problems) {
	for _, kv := range []struct{ name, value string }{{"auth_url", p.AuthURL}, {"token_url", p.TokenURL}} {
		if kv.value == "" {
			ps.add(kv.name, "is required for type oauth2")
		} else if msg := endpointProblem(kv.value, false); msg != "" {
			ps.add(kv.name, msg)
		}
	}
	if p.UserinfoURL != "" {
		if msg := endpointProblem(p.UserinfoURL, false); msg != "" {
			ps.add("userinfo_url", msg)
		}
	}
	// A uid key written with an empty value was reported above.
	if _, written := p.Claims[ClaimUID]; !written {
		ps.add("claims.uid", "is required for type oauth2: the user-info field holding the user's stable ID (e.g. claims: {uid: id})")
	}
	if p.Issuer != "" {
		ps.add("issuer", "applies only to type oidc; an oauth2 provider takes auth_url and token_url")
	}
}

// endpointProblem checks a provider URL: absolute, https unless the host
// is loopback (contract §4), no credentials or fragment. An issuer may
// have a path but no query either, as OpenID Connect Discovery requires.
func endpointProblem(raw string, issuer bool) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Sprintf("%q must be an absolute https:// URL", raw)
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
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

// isLoopback reports whether host names this machine: localhost or a
// loopback IP address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.Unmap().IsLoopback()
}
