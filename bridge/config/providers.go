package config

import (
	"fmt"
	"maps"
	"net/netip"
	"net/url"
	"slices"
	"sort"
	"strings"
)

// checkProvider validates one provider and lets a preset checker fill its
// preset defaults.
func (l Loader) checkProvider(p *Provider, col *collector) {
	base := join("providers", p.Key)
	if !providerKeyRE.MatchString(p.Key) {
		col.add(base, fmt.Sprintf("%q is not a valid provider key: lower-case letters, digits, '_' or '-', starting with a letter or digit (it appears in URLs and in Session.provider)", p.Key))
	}
	field := func(name string) string { return join(base, name) }

	for _, kv := range []struct{ name, value string }{{"client_id", p.ClientID}, {"client_secret", p.ClientSecret}} {
		if kv.value != strings.TrimSpace(kv.value) {
			col.add(field(kv.name), "has leading or trailing whitespace (check the value or the environment variable it comes from)")
		}
	}
	for i, s := range p.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n") {
			col.add(index(field("scopes"), i), "a scope must be non-empty and contain no spaces (list each scope separately)")
		}
	}
	oneOf(col, field("auth_style"), p.AuthStyle, authStyles)
	for _, name := range slices.Sorted(maps.Keys(p.Claims)) {
		if !slices.Contains(claimKeys, name) {
			col.add(join(field("claims"), name), fmt.Sprintf("unknown claim %q; valid claims: %s", name, strings.Join(claimKeys, ", ")))
		} else if p.Claims[name] == "" {
			col.add(join(field("claims"), name), "must name a user-info field")
		}
	}

	switch p.Type {
	case "":
		col.add(field("type"), "is required: "+l.typeList())
	case "oidc":
		if p.Issuer == "" {
			col.add(field("issuer"), "is required for type oidc (the URL whose /.well-known/openid-configuration describes the provider)")
		} else if msg := endpointProblem(p.Issuer, true); msg != "" {
			col.add(field("issuer"), msg)
		}
		if p.ClientID == "" {
			col.add(field("client_id"), "is required for type oidc")
		}
		for _, kv := range []struct{ name, value string }{{"auth_url", p.AuthURL}, {"token_url", p.TokenURL}, {"userinfo_url", p.UserinfoURL}} {
			if kv.value != "" {
				col.add(field(kv.name), "applies only to type oauth2; an oidc provider finds its endpoints through discovery at the issuer")
			}
		}
	case "oauth2":
		for _, kv := range []struct{ name, value string }{{"auth_url", p.AuthURL}, {"token_url", p.TokenURL}} {
			if kv.value == "" {
				col.add(field(kv.name), "is required for type oauth2")
			} else if msg := endpointProblem(kv.value, false); msg != "" {
				col.add(field(kv.name), msg)
			}
		}
		if p.UserinfoURL != "" {
			if msg := endpointProblem(p.UserinfoURL, false); msg != "" {
				col.add(field("userinfo_url"), msg)
			}
		}
		if p.Claims[ClaimUID] == "" && !col.has(join(field("claims"), "uid")) {
			col.add(join(field("claims"), "uid"), "is required for type oauth2: the user-info field holding the user's stable ID (e.g. claims: {uid: id})")
		}
		if p.Issuer != "" {
			col.add(field("issuer"), "applies only to type oidc; an oauth2 provider takes auth_url and token_url")
		}
	default:
		l.checkPresetType(p, base, col)
	}
}

func (l Loader) checkPresetType(p *Provider, base string, col *collector) {
	if l.Presets == nil {
		if !typeNameRE.MatchString(p.Type) {
			col.add(join(base, "type"), fmt.Sprintf("%q is not a valid type name: %s", p.Type, l.typeList()))
		}
		return
	}
	if !slices.Contains(l.Presets.PresetNames(), p.Type) {
		// The registry words unknown types best (it suggests near names);
		// fall back to the plain list when it says nothing about the type.
		for _, fe := range l.Presets.CheckPreset(p) {
			if fe.Field == "type" {
				col.add(join(base, "type"), fe.Message)
				return
			}
		}
		col.add(join(base, "type"), fmt.Sprintf("unknown type %q; %s", p.Type, l.typeList()))
		return
	}
	for _, fe := range l.Presets.CheckPreset(p) {
		col.add(join(base, fe.Field), fe.Message)
	}
}

// typeList describes the valid provider types for messages.
func (l Loader) typeList() string {
	if l.Presets == nil {
		return "oidc, oauth2 or a preset name (see `sessionbridge providers`)"
	}
	names := slices.Clone(l.Presets.PresetNames())
	sort.Strings(names)
	return "valid types: " + strings.Join(append(slices.Clone(builtinTypes), names...), ", ")
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
