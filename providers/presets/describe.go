package presets

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// envPrefix is the environment-variable prefix suggested for a preset.
func envPrefix(name string) string {
	return strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// Describe returns a ready-to-paste YAML block configuring the named
// preset or generic type oidc / oauth2 (`sessionbridge providers NAME`;
// the name is case-insensitive), or "" for an unknown name.
func Describe(name string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	switch name {
	case KindOIDC:
		return oidcBlock
	case KindOAuth2:
		return oauth2Block
	}
	p, ok := Lookup(name)
	if !ok {
		return ""
	}
	var b strings.Builder
	writeHeader(&b, p)
	writeEntry(&b, p)
	return b.String()
}

// writeHeader writes the comment above a preset's block: what it is, its
// notes, and the URLs to register at the provider.
func writeHeader(b *strings.Builder, p Preset) {
	fmt.Fprintf(b, "# %s (%s): %s\n", p.DisplayName, kindLabel(p.Kind), p.Docs)
	for _, text := range []string{p.Notes, p.Rotation} {
		for _, line := range wrap(text, 76) {
			fmt.Fprintf(b, "# %s\n", line)
		}
	}
	fmt.Fprintf(b, "# PKCE: %s; refresh: %s\n", pkceLabel(p), refreshLabel(p))
	fmt.Fprintf(b, "# Callback URL to register at %s:\n", p.DisplayName)
	fmt.Fprintf(b, "#   {public_url}/v1/account/sessions/oauth2/callback/%s/{project}\n", p.Name)
	if p.Kind == KindOIDC {
		b.WriteString("# Back-channel logout URL (backchannel_logout_uri), if the provider sends logout tokens:\n")
		fmt.Fprintf(b, "#   {public_url}/v1/account/sessions/oauth2/backchannel/%s/{project}\n", p.Name)
	}
}

// writeEntry writes the providers: entry itself: the keys to fill in,
// then the optional ones commented out with their defaults.
func writeEntry(b *strings.Builder, p Preset) {
	env := envPrefix(p.Name)
	b.WriteString("providers:\n")
	fmt.Fprintf(b, "  %s:\n", p.Name)
	fmt.Fprintf(b, "    type: %s\n", p.Name)
	fmt.Fprintf(b, "    display_name: %s\n", yamlString(p.DisplayName))
	fmt.Fprintf(b, "    client_id: ${%s_CLIENT_ID}\n", env)
	if !p.NoClientSecret {
		fmt.Fprintf(b, "    client_secret: ${%s_CLIENT_SECRET}\n", env)
	}
	if len(p.Scopes) > 0 {
		fmt.Fprintf(b, "    # scopes: []  # added to the defaults: %s\n", strings.Join(p.Scopes, " "))
	} else {
		b.WriteString("    # scopes: []  # no default scopes\n")
	}
	writeSettings(b, p, env)
	if p.Kind == KindOIDC {
		b.WriteString("    # rp_initiated_logout: false  # true: signing out also signs out at the provider (register {public_url}/?msg=signed_out as post-logout redirect URI)\n")
	}
	if p.Kind == KindOIDC || p.RevocationURL != "" {
		b.WriteString("    # revoke_tokens: true  # revoke the provider token (RFC 7009) when a session ends\n")
	}
	if p.MinRefreshInterval > 0 {
		fmt.Fprintf(b, "    # min_refresh_interval: %s  # the default: a grant is refreshed at most this often\n", shortDuration(p.MinRefreshInterval))
	}
}

// writeSettings writes the preset's settings: the required ones to fill
// in from the environment, the optional ones commented out with their
// defaults (the whole mapping commented out when none is required).
func writeSettings(b *strings.Builder, p Preset, env string) {
	if len(p.Settings) == 0 {
		return
	}
	if len(p.RequiredSettings()) > 0 {
		b.WriteString("    settings:\n")
	} else {
		b.WriteString("    # settings:\n")
	}
	for _, s := range p.Settings {
		if s.Required {
			fmt.Fprintf(b, "      %s: ${%s_%s}  # required: %s\n", s.Name, env, strings.ToUpper(s.Name), s.Help)
		} else {
			fmt.Fprintf(b, "    #   %s: %s  # optional: %s\n", s.Name, yamlString(s.Default), s.Help)
		}
	}
}

// pkceLabel tells what the PKCE column says: documented by the provider,
// sent although the provider does not document it (it accepts it), or off.
func pkceLabel(p Preset) string {
	switch {
	case !p.PKCE:
		return "off"
	case p.PKCEUndocumented:
		return "sent (undocumented)"
	}
	return "documented"
}

// refreshLabel is yes or no with the preset's qualification.
func refreshLabel(p Preset) string {
	if p.RefreshNote != "" {
		return yesNo(p.Refresh) + " (" + p.RefreshNote + ")"
	}
	return yesNo(p.Refresh)
}

// shortDuration writes whole hours as "24h" rather than "24h0m0s".
func shortDuration(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return d.String()
}

func kindLabel(kind string) string {
	if kind == KindOIDC {
		return "OpenID Connect"
	}
	return "OAuth 2.0"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// yamlString quotes s when YAML would read it as something else.
func yamlString(s string) string {
	if s == "" || strings.ContainsAny(s, ":#{}[],&*!|>'\"%@`") || strings.TrimSpace(s) != s {
		return fmt.Sprintf("%q", s)
	}
	return s
}

func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// WriteTable prints every preset with its default scopes, required
// settings, PKCE and refresh support (`sessionbridge providers`).
func WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tDEFAULT SCOPES\tREQUIRED SETTINGS\tPKCE\tREFRESH")
	for _, name := range Names() {
		p, _ := Lookup(name)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, p.Kind, dash(strings.Join(p.Scopes, " ")),
			dash(strings.Join(p.RequiredSettings(), ", ")), pkceLabel(p), refreshLabel(p))
	}
	fmt.Fprintln(tw, "\nAlso: type oidc (any OpenID Connect issuer) and type oauth2 (endpoints plus a claims mapping).")
	fmt.Fprintln(tw, "`sessionbridge providers NAME` prints a configuration block for one preset.")
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Markdown renders docs/providers.md from the preset data.
func Markdown() []byte {
	var b bytes.Buffer
	b.WriteString("# Provider presets\n\n")
	b.WriteString("<!-- Generated from providers/presets/presets.yaml by `go generate ./providers/presets`. Do not edit. -->\n\n")
	b.WriteString("Set `type:` to a preset name below, or to `oidc` (any OpenID Connect issuer) or `oauth2`\n")
	b.WriteString("(explicit endpoints and a claims mapping). Scopes you configure are added to the preset's defaults.\n")
	b.WriteString("`sessionbridge providers NAME` prints a ready-to-paste block. The callback URL to register is\n")
	b.WriteString("`{public_url}/v1/account/sessions/oauth2/callback/{provider key}/{project}`; OpenID Connect providers\n")
	b.WriteString("that send back-channel logout tokens are given `{public_url}/v1/account/sessions/oauth2/backchannel/{provider key}/{project}`\n")
	b.WriteString("as their `backchannel_logout_uri` (see the README's Logout section).\n\n")
	b.WriteString("| preset | kind | default scopes | required settings | PKCE | refresh |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- |\n")
	for _, name := range Names() {
		p, _ := Lookup(name)
		scopes := make([]string, len(p.Scopes))
		for i, s := range p.Scopes {
			scopes[i] = "`" + s + "`"
		}
		fmt.Fprintf(&b, "| [%s](#%s) | %s | %s | %s | %s | %s |\n", p.Name, p.Name, p.Kind, dash(strings.Join(scopes, " ")),
			dash(strings.Join(p.RequiredSettings(), ", ")), pkceLabel(p), refreshLabel(p))
	}
	b.WriteString("\nPKCE: *documented* (the provider documents it), *sent (undocumented)* (sent with S256 and accepted,\n")
	b.WriteString("but the provider does not document it), *off* (the provider rejects it).\n")
	b.WriteString("\n## Generic types\n\n")
	b.WriteString("`type: oauth2` keys: `auth_url`, `token_url`, `userinfo_url`, `userinfo_method` (GET or POST),\n")
	b.WriteString("`userinfo_headers` (values may use `{client_id}` and `{client_secret}`; an `Authorization` header may use `{access_token}`),\n")
	b.WriteString("`claims` (`uid` required; `email`, `email_verified`, `name`), `scope_separator` (default a space),\n")
	b.WriteString("`auth_style` (`basic` or `post`), `pkce` (default true), `refresh` (default true), `auth_params`.\n\n")
	b.WriteString("Claim paths: `id`, nested `data.user.id`, array index `emails.0.value`, alternatives `mail|upn`,\n")
	b.WriteString("joined values `first_name + last_name`, and `token:member` to read the token answer. Numeric IDs\n")
	b.WriteString("are kept exactly as sent (no float formatting).\n")
	for _, name := range Names() {
		p, _ := Lookup(name)
		fmt.Fprintf(&b, "\n## %s\n\n", p.Name)
		fmt.Fprintf(&b, "%s, %s. Source: <%s>\n\n", p.DisplayName, kindLabel(p.Kind), p.Docs)
		if p.Notes != "" {
			b.WriteString(p.Notes + "\n\n")
		}
		if p.Kind == KindOIDC {
			fmt.Fprintf(&b, "- issuer: `%s`\n", p.Issuer)
		} else {
			fmt.Fprintf(&b, "- authorization: `%s`\n- token: `%s`\n", p.AuthURL, p.TokenURL)
			if p.RefreshURL != "" {
				fmt.Fprintf(&b, "- refresh: `%s`\n", p.RefreshURL)
			}
			if p.UserinfoURL != "" {
				method := p.UserinfoMethod
				if method == "" {
					method = "GET"
				}
				fmt.Fprintf(&b, "- user info: %s `%s`\n", method, p.UserinfoURL)
			}
			var claims []string
			for _, k := range []string{"uid", "email", "email_verified", "name"} {
				if v := p.Claims[k]; v != "" {
					claims = append(claims, fmt.Sprintf("%s=`%s`", k, v))
				}
			}
			fmt.Fprintf(&b, "- claims: %s\n", strings.Join(claims, ", "))
		}
		style := p.AuthStyle
		if style == "" {
			style = "basic"
		}
		fmt.Fprintf(&b, "- token auth: %s; PKCE: %s; refresh: %s\n", style, pkceLabel(p), refreshLabel(p))
		writeLogoutFacts(&b, p)
		for _, s := range p.Settings {
			req := "optional, default `" + s.Default + "`"
			if s.Required {
				req = "required"
			}
			fmt.Fprintf(&b, "- setting `%s` (%s): %s\n", s.Name, req, s.Help)
		}
		fmt.Fprintf(&b, "\n```yaml\n%s```\n", Describe(p.Name))
	}
	return b.Bytes()
}

// writeLogoutFacts adds revocation, rotation and the cited sources to a
// preset's section of docs/providers.md.
func writeLogoutFacts(b *bytes.Buffer, p Preset) {
	scope := "the user's whole grant (revoked when the user's last session here ends)"
	if p.Revocation == RevocationToken {
		scope = "that login's tokens only"
	}
	switch {
	case p.RevocationURL != "":
		fmt.Fprintf(b, "- revocation: `%s`; revoking ends %s\n", p.RevocationURL, scope)
	case p.Kind == KindOIDC:
		fmt.Fprintf(b, "- revocation: the discovery document's `revocation_endpoint`, if any; revoking ends %s\n", scope)
	default:
		b.WriteString("- revocation: none\n")
	}
	if p.Rotation != "" {
		fmt.Fprintf(b, "- refresh tokens: %s\n", p.Rotation)
	}
	if len(p.Refs) > 0 {
		var refs []string
		for _, topic := range slices.Sorted(maps.Keys(p.Refs)) {
			refs = append(refs, fmt.Sprintf("%s <%s>", strings.ReplaceAll(topic, "_", " "), p.Refs[topic]))
		}
		fmt.Fprintf(b, "- sources: %s\n", strings.Join(refs, "; "))
	}
}
