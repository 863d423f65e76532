package config

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/providers/oauth2"
	"github.com/sessionbridge/sessionbridge/providers/oidc"
	"github.com/sessionbridge/sessionbridge/providers/presets"
)

var (
	key32 = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
	key33 = base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 33))
	key16 = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{3}, 16))
)

// secretsYAML is the smallest valid configuration (two lines of secrets
// plus its header), appended at the end of test documents so that the line
// numbers of what comes before are easy to read.
var secretsYAML = "secrets:\n  session_keys: [" + key32 + "]\n  token_keys: [" + key32 + "]\n"

func envMap(m map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

func parse(t *testing.T, doc string, env map[string]string) (*Config, Problems) {
	t.Helper()
	c, err := Parse("sb.yaml", []byte(doc), envMap(env))
	if err == nil {
		return c, nil
	}
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Parse returned %T %v, want Problems", err, err)
	}
	if c != nil {
		t.Errorf("Parse returned a config together with problems")
	}
	return nil, ps
}

func TestParseMinimalAppliesDefaults(t *testing.T) {
	c, ps := parse(t, secretsYAML, nil)
	if ps != nil {
		t.Fatalf("problems:\n%v", ps)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"listen", c.Listen, "127.0.0.1:8080"},
		{"public_url", c.PublicURL, "http://127.0.0.1:8080"},
		{"project", c.Project, "default"},
		{"session.duration", c.Session.Duration, 8760 * time.Hour},
		{"session.max_per_user", c.Session.MaxPerUser, 10},
		{"cookies.same_site", c.Cookies.SameSite, "lax"},
		{"store.driver", c.Store.Driver, "sqlite"},
		{"store.dsn", c.Store.DSN, "./sessionbridge-data/sessionbridge.db"},
		{"refresh.enabled", c.Refresh.RefreshEnabled(), true},
		{"refresh.before_expiry", c.Refresh.BeforeExpiry, 5 * time.Minute},
		{"refresh.listen", c.Refresh.Listen, "127.0.0.1:9090"},
		{"refresh.on_failure", c.Refresh.OnFailure, "end_session"},
		{"refresh.timeout", c.Refresh.Timeout, 30 * time.Second},
		{"refresh.concurrency", c.Refresh.Concurrency, 64},
		{"log.level", c.Log.Level, "info"},
		{"log.format", c.Log.Format, "text"},
		{"file", c.File, "sb.yaml"},
		{"session key bytes", c.Secrets.SessionKeyBytes, [][]byte{bytes.Repeat([]byte{1}, 32)}},
		{"token key bytes", c.Secrets.TokenKeyBytes, [][]byte{bytes.Repeat([]byte{1}, 32)}},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestParseFullConfig(t *testing.T) {
	geo := filepath.Join(t.TempDir(), "country.mmdb")
	if err := os.WriteFile(geo, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := `listen: 0.0.0.0:8443
public_url: https://auth.example.com/
project: my-app.prod_1
redirect_allowlist: [https://app.example.com, "https://*.example.com"]
session:
  duration: 720h
  max_per_user: 3
  expose_refresh_token: true
cookies: {same_site: none, domain: .example.com}
store: {driver: postgres, dsn: "postgres://u:p@db/sb", max_conns: 20}
secrets:
  session_keys: [` + key33 + `, ` + key32 + `]
  token_keys: [` + key32 + `]
api_keys:
  - id: backend
    secret: ${API_KEY}
    scopes: [sessions.read, users.write]
refresh:
  enabled: false
  before_expiry: 90s
  listen: ":9191"
  on_failure: keep_session
  timeout: 10s
  concurrency: 8
geoip: {database: ` + geo + `}
log: {level: debug, format: json}
providers:
  zeta:
    type: oidc
    issuer: http://127.0.0.1:5556/dex
    client_id: sb
    pkce: false
    auth_style: post
  alpha:
    type: oauth2
    display_name: Alpha
    auth_url: https://alpha.example/authorize
    token_url: https://alpha.example/token
    claims: {uid: id, email_verified: verified}
  gh:
    type: github
    client_id: x
`
	c, ps := parse(t, doc, map[string]string{"API_KEY": "0123456789abcdef"})
	if ps != nil {
		t.Fatalf("problems:\n%v", ps)
	}
	if c.PublicURL != "https://auth.example.com" {
		t.Errorf("public_url = %q, want the trailing slash trimmed", c.PublicURL)
	}
	if c.Refresh.RefreshEnabled() || c.Refresh.BeforeExpiry != 90*time.Second || c.Refresh.Concurrency != 8 {
		t.Errorf("refresh = %+v", c.Refresh)
	}
	if c.Store.DSN != "postgres://u:p@db/sb" || c.Store.MaxConns != 20 {
		t.Errorf("store = %+v", c.Store)
	}
	if len(c.Secrets.SessionKeyBytes) != 2 || len(c.Secrets.SessionKeyBytes[0]) != 33 {
		t.Errorf("session keys decoded wrong: %d keys", len(c.Secrets.SessionKeyBytes))
	}
	if got := c.APIKeys[0].Secret; got != "0123456789abcdef" {
		t.Errorf("api key secret not expanded")
	}
	if want := []string{"zeta", "alpha", "gh"}; !reflect.DeepEqual(c.ProviderOrder, want) {
		t.Errorf("ProviderOrder = %v, want %v", c.ProviderOrder, want)
	}
	z := c.Providers["zeta"]
	if zc := z.Config.(*oidc.Config); z.Key != "zeta" || z.Line != 28 || z.DisplayName != "zeta" || zc.PKCEEnabled() || zc.AuthStyle != "post" {
		t.Errorf("zeta = %+v (line %d)", z, z.Line)
	}
	a := c.Providers["alpha"]
	if ac := a.Config.(*oauth2.Entry); a.Line != 34 || a.DisplayName != "Alpha" || ac.AuthStyle != "basic" || !ac.PKCEEnabled() || ac.Claims["email_verified"] != "verified" {
		t.Errorf("alpha = %+v (line %d)", a, a.Line)
	}
}

func TestParseProblems(t *testing.T) {
	tests := []struct {
		name string
		doc  string // secretsYAML is appended
		env  map[string]string
		line int
		key  string
		msg  string // substring of the message
	}{
		{"unknown top-level key", "listn: x\n", nil, 1, "listn", `unknown key "listn" (did you mean "listen"?)`},
		{"unknown nested key", "providers:\n  corp:\n    type: oidc\n    issur: https://x.example\n    issuer: https://x.example\n    client_id: a\n", nil, 4, "providers.corp.issur", `unknown key "issur" (did you mean "issuer"?)`},
		{"unknown key in list item", "api_keys:\n  - id: a\n    secret: 0123456789abcdef\n    scopes: [users.read]\n    scope: x\n", nil, 5, "api_keys[0].scope", `unknown key "scope"`},
		{"unknown key far from any", "session:\n  zzzzzzzz: 1\n", nil, 2, "session.zzzzzzzz", `unknown key "zzzzzzzz"`},
		{"duplicate provider", "providers:\n  corp:\n    type: x\n  corp:\n    type: y\n", nil, 4, "providers.corp", "duplicate key (first defined on line 2)"},
		{"duplicate top-level key", "listen: 127.0.0.1:1\nlisten: 127.0.0.1:2\n", nil, 2, "listen", "duplicate key (first defined on line 1)"},
		{"merge key", "base: &b {type: x}\n", nil, 1, "base", "unknown key"},
		{"missing env", "public_url: ${PUBLIC}\n", nil, 1, "public_url", "environment variable PUBLIC is not set"},
		{"missing env in list item", "redirect_allowlist:\n  - https://a.example\n  - ${APP}\n", nil, 3, "redirect_allowlist[1]", "environment variable APP is not set"},
		{"unterminated expansion", "project: ${X\n", nil, 1, "project", "unterminated ${"},
		{"bad variable name", "project: ${1X}\n", nil, 1, "project", `invalid variable name "1X"`},
		{"bad duration", "session:\n  duration: 1y\n", nil, 2, "session.duration", `"1y" is not a duration; use Go syntax such as 90s, 5m or 8760h`},
		{"integer duration", "refresh:\n  timeout: 30\n", nil, 2, "refresh.timeout", "is not a duration"},
		{"bad duration from env is not echoed", "refresh:\n  timeout: ${T}\n", map[string]string{"T": "secretish"}, 2, "refresh.timeout", `"${T}" is not a duration`},
		{"zero duration", "refresh:\n  before_expiry: 0s\n", nil, 2, "refresh.before_expiry", "must be greater than 0"},
		{"negative duration", "session:\n  duration: -1h\n", nil, 2, "session.duration", "must be greater than 0 (got -1h0m0s)"},
		{"bad bool", "refresh:\n  enabled: maybe\n", nil, 2, "refresh.enabled", "is not a boolean"},
		{"bad int", "session:\n  max_per_user: many\n", nil, 2, "session.max_per_user", "is not a whole number"},
		{"zero int", "session:\n  max_per_user: 0\n", nil, 2, "session.max_per_user", "must be greater than 0"},
		{"list where scalar", "listen: [a]\n", nil, 1, "listen", "want a single value, not a list"},
		{"scalar where list", "redirect_allowlist: https://a.example\n", nil, 1, "redirect_allowlist", "want a list"},
		{"scalar where mapping", "session: long\n", nil, 1, "session", "want a mapping"},
		{"public_url path", "public_url: https://a.example/auth\n", nil, 1, "public_url", "without a path, query or fragment"},
		{"public_url scheme", "public_url: ftp://a.example\n", nil, 1, "public_url", "must start with https://"},
		{"public_url relative", "public_url: a.example\n", nil, 1, "public_url", "must be an absolute URL"},
		{"public_url userinfo", "public_url: https://u@a.example\n", nil, 1, "public_url", "must not contain a user name"},
		{"listen", "listen: 8080\n", nil, 1, "listen", "is not a host:port address"},
		{"listen port", "listen: 127.0.0.1:99999\n", nil, 1, "listen", "invalid port"},
		{"refresh listen", "refresh:\n  listen: nope\n", nil, 2, "refresh.listen", "is not a host:port address"},
		{"project", "project: -bad\n", nil, 1, "project", "is not a valid project ID"},
		{"project too long", "project: " + strings.Repeat("a", 37) + "\n", nil, 1, "project", "is not a valid project ID"},
		{"allowlist path", "redirect_allowlist:\n  - https://a.example\n  - https://b.example/cb\n", nil, 3, "redirect_allowlist[1]", "without a path"},
		{"allowlist wildcard", "redirect_allowlist: [\"https://a.*.example\"]\n", nil, 1, "redirect_allowlist[0]", "wildcard"},
		{"same_site", "cookies:\n  same_site: loose\n", nil, 2, "cookies.same_site", `"loose" is not one of: lax, strict, none`},
		{"same_site none on http", "public_url: http://localhost:8080\ncookies:\n  same_site: none\n", nil, 3, "cookies.same_site", "none requires an https public_url"},
		{"cookie domain outside", "public_url: https://auth.example.com\ncookies:\n  domain: other.com\n", nil, 3, "cookies.domain", "parent domain"},
		{"cookie domain form", "cookies:\n  domain: localhost\n", nil, 2, "cookies.domain", "is not a domain name"},
		{"store driver", "store:\n  driver: mysql\n", nil, 2, "store.driver", `"mysql" is not one of: sqlite, postgres`},
		{"postgres without dsn", "store:\n  driver: postgres\n", nil, 1, "store.dsn", "is required for the postgres driver"},
		{"max_conns", "store:\n  max_conns: -1\n", nil, 2, "store.max_conns", "must not be negative"},
		{"on_failure", "refresh:\n  on_failure: retry\n", nil, 2, "refresh.on_failure", "is not one of: end_session, keep_session"},
		{"concurrency", "refresh:\n  concurrency: -3\n", nil, 2, "refresh.concurrency", "must be greater than 0 (got -3)"},
		{"geoip missing", "geoip:\n  database: /nonexistent/country.mmdb\n", nil, 2, "geoip.database", "cannot read the database file"},
		{"log level", "log:\n  level: verbose\n", nil, 2, "log.level", "is not one of: debug, info, warn, error"},
		{"log format", "log:\n  format: xml\n", nil, 2, "log.format", "is not one of: text, json"},
		{"api key id missing", "api_keys:\n  - secret: 0123456789abcdef\n    scopes: [users.read]\n", nil, 2, "api_keys[0].id", "is required"},
		{"api key id duplicate", "api_keys:\n  - {id: a, secret: 0123456789abcdef, scopes: [users.read]}\n  - {id: a, secret: 0123456789abcdeg, scopes: [users.read]}\n", nil, 3, "api_keys[1].id", `"a" is already used by api_keys[0]`},
		{"api key short secret", "api_keys:\n  - id: a\n    secret: short\n    scopes: [users.read]\n", nil, 3, "api_keys[0].secret", "must be at least 16 characters (it has 5)"},
		{"api key unset secret", "api_keys:\n  - id: a\n    secret: ${K}\n    scopes: [users.read]\n", nil, 3, "api_keys[0].secret", "environment variable K is not set"},
		{"api key bad scope", "api_keys:\n  - id: a\n    secret: 0123456789abcdef\n    scopes:\n      - users.read\n      - admin\n", nil, 6, "api_keys[0].scopes[1]", `unknown scope "admin"; valid scopes: sessions.read, sessions.write, users.read, users.write`},
		{"api key no scopes", "api_keys:\n  - id: a\n    secret: 0123456789abcdef\n", nil, 2, "api_keys[0].scopes", "at least one scope is required"},
		{"provider key", "providers:\n  Corp:\n    type: x\n", nil, 2, "providers.Corp", "is not a valid provider key"},
		{"provider empty", "providers:\n  corp:\n", nil, 2, "providers.corp.type", "is required: oidc, oauth2 or a preset name"},
		{"provider type form", "providers:\n  corp:\n    type: My_Type\n", nil, 3, "providers.corp.type", `"My_Type" is not a valid type name`},
		{"oidc issuer missing", "providers:\n  corp:\n    type: oidc\n    client_id: a\n", nil, 2, "providers.corp.issuer", "is required for type oidc"},
		{"oidc issuer http", "providers:\n  corp:\n    type: oidc\n    issuer: http://login.corp.example\n    client_id: a\n", nil, 4, "providers.corp.issuer", "must use https (plain http is allowed only on loopback"},
		{"oidc issuer relative", "providers:\n  corp:\n    type: oidc\n    issuer: login.corp.example\n    client_id: a\n", nil, 4, "providers.corp.issuer", "must be an absolute https:// URL"},
		{"oidc issuer query", "providers:\n  corp:\n    type: oidc\n    issuer: https://login.corp.example?x=1\n    client_id: a\n", nil, 4, "providers.corp.issuer", "must not have a query"},
		{"oidc client_id", "providers:\n  corp:\n    type: oidc\n    issuer: https://login.corp.example\n", nil, 2, "providers.corp.client_id", "is required for type oidc"},
		{"oidc with oauth2 key", "providers:\n  corp:\n    type: oidc\n    issuer: https://login.corp.example\n    client_id: a\n    token_url: https://x.example/t\n", nil, 6, "providers.corp.token_url", "applies only to type oauth2"},
		{"oauth2 auth_url", "providers:\n  l:\n    type: oauth2\n    token_url: https://l.example/t\n    claims: {uid: id}\n", nil, 2, "providers.l.auth_url", "is required for type oauth2"},
		{"oauth2 token_url http", "providers:\n  l:\n    type: oauth2\n    auth_url: https://l.example/a\n    token_url: http://l.example/t\n    claims: {uid: id}\n", nil, 5, "providers.l.token_url", "must use https"},
		{"oauth2 userinfo http", "providers:\n  l:\n    type: oauth2\n    auth_url: https://l.example/a\n    token_url: https://l.example/t\n    userinfo_url: http://l.example/me\n    claims: {uid: id}\n", nil, 6, "providers.l.userinfo_url", "must use https"},
		{"oauth2 uid claim", "providers:\n  l:\n    type: oauth2\n    auth_url: https://l.example/a\n    token_url: https://l.example/t\n    claims:\n      email: mail\n", nil, 6, "providers.l.claims.uid", "is required for type oauth2"},
		{"oauth2 unknown claim", "providers:\n  l:\n    type: oauth2\n    auth_url: https://l.example/a\n    token_url: https://l.example/t\n    claims:\n      uid: id\n      avatar: pic\n", nil, 8, "providers.l.claims.avatar", `unknown claim "avatar"`},
		{"oauth2 with issuer", "providers:\n  l:\n    type: oauth2\n    issuer: https://l.example\n    auth_url: https://l.example/a\n    token_url: https://l.example/t\n    claims: {uid: id}\n", nil, 4, "providers.l.issuer", "applies only to type oidc"},
		{"auth_style", "providers:\n  g:\n    type: github\n    auth_style: header\n", nil, 4, "providers.g.auth_style", `"header" is not one of: basic, post`},
		{"whitespace secret", "providers:\n  g:\n    type: github\n    client_secret: \"  \"\n", nil, 4, "providers.g.client_secret", "leading or trailing whitespace"},
		{"scope with space", "providers:\n  g:\n    type: github\n    scopes: [\"read:org repo\"]\n", nil, 4, "providers.g.scopes[0]", "no spaces"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ps := parse(t, tt.doc+secretsYAML, tt.env)
			for _, p := range ps {
				if p.Line == tt.line && p.Key == tt.key && strings.Contains(p.Message, tt.msg) {
					if p.File != "sb.yaml" {
						t.Errorf("problem file = %q", p.File)
					}
					return
				}
			}
			t.Errorf("want sb.yaml:%d: %s: ...%s..., got:\n%v", tt.line, tt.key, tt.msg, ps)
		})
	}
}

func TestParseSecretsProblems(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		line int
		key  string
		msg  string
	}{
		{"no secrets at all", "project: p\n", 1, "secrets.session_keys", "at least one key is required"},
		{"no token keys", "secrets:\n  session_keys: [" + key32 + "]\n", 1, "secrets.token_keys", "at least one key is required"},
		{"short session key", "secrets:\n  session_keys: [" + key16 + "]\n  token_keys: [" + key32 + "]\n", 2, "secrets.session_keys[0]", "decodes to 16 bytes; a session key needs at least 32"},
		{"token key too long", "secrets:\n  session_keys: [" + key32 + "]\n  token_keys:\n    - " + key32 + "\n    - " + key33 + "\n", 5, "secrets.token_keys[1]", "decodes to 33 bytes; a token key must be exactly 32"},
		{"not base64", "secrets:\n  session_keys: [\"not base64!\"]\n  token_keys: [" + key32 + "]\n", 2, "secrets.session_keys[0]", "is not valid base64"},
		{"empty key", "secrets:\n  session_keys: [\"\"]\n  token_keys: [" + key32 + "]\n", 2, "secrets.session_keys[0]", "is empty"},
		{"repeated key", "secrets:\n  session_keys: [" + key32 + "]\n  token_keys: [" + key32 + ", " + key32 + "]\n", 3, "secrets.token_keys[1]", "repeats an earlier key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ps := parse(t, tt.doc, nil)
			for _, p := range ps {
				if p.Line == tt.line && p.Key == tt.key && strings.Contains(p.Message, tt.msg) {
					if strings.Contains(p.Message, key32) || strings.Contains(p.Message, key16) {
						t.Errorf("message shows a key: %s", p.Message)
					}
					return
				}
			}
			t.Errorf("want sb.yaml:%d: %s: ...%s..., got:\n%v", tt.line, tt.key, tt.msg, ps)
		})
	}
}

func TestProblemFormatAndCollectsAll(t *testing.T) {
	doc := "listen: nope\nproviders:\n  corp:\n    type: oidc\n    issur: x\n" + secretsYAML
	_, ps := parse(t, doc, nil)
	want := []string{
		`sb.yaml:1: listen: "nope" is not a host:port address such as 127.0.0.1:8080`,
		`sb.yaml:3: providers.corp.issuer: is required for type oidc (the URL whose /.well-known/openid-configuration describes the provider)`,
		`sb.yaml:3: providers.corp.client_id: is required for type oidc`,
		`sb.yaml:5: providers.corp.issur: unknown key "issur" (did you mean "issuer"?)`,
	}
	if got := strings.Split(ps.Error(), "\n"); !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestNoFollowOnProblems(t *testing.T) {
	doc := "api_keys:\n  - id: a\n    secret: ${K}\n    scopes: [users.read]\n" + secretsYAML
	_, ps := parse(t, doc, nil)
	want := "sb.yaml:3: api_keys[0].secret: environment variable K is not set (set it, or give a default with ${K:-value})"
	if ps.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", ps, want)
	}
}

func TestParseSyntaxError(t *testing.T) {
	_, ps := parse(t, "listen: a\n  bad: [\n", nil)
	if len(ps) != 1 || ps[0].Line == 0 || !strings.HasPrefix(ps[0].Message, "invalid YAML: ") {
		t.Fatalf("got %#v", ps)
	}
	if s := ps[0].String(); !strings.HasPrefix(s, fmt.Sprintf("sb.yaml:%d: invalid YAML", ps[0].Line)) {
		t.Errorf("String() = %q", s)
	}
	_, ps = parse(t, secretsYAML+"---\nlisten: x\n", nil)
	if len(ps) != 1 || ps[0].Line != 4 || !strings.Contains(ps[0].Message, "only one document") {
		t.Errorf("second document: got %v", ps)
	}
}

func TestEnvExpansion(t *testing.T) {
	env := map[string]string{"HOST": "auth.example.com", "EMPTY": "", "PORT": "8443"}
	tests := []struct {
		in, want string
	}{
		{"plain", "plain"},
		{"https://${HOST}:${PORT}", "https://auth.example.com:8443"},
		{"${MISSING:-fallback}", "fallback"},
		{"${EMPTY:-fallback}", "fallback"},
		{"${HOST:-fallback}", "auth.example.com"},
		{"${EMPTY}", ""},
		{"${MISSING:-}", ""},
		{"a$$b", "a$b"},
		{"$${HOST}", "${HOST}"},
		{"$$$${HOST}", "$${HOST}"},
		{"$$${HOST}", "$auth.example.com"},
		{"cost $5", "cost $5"},
		{"trailing $", "trailing $"},
		{"${MISSING:-a:-b}", "a:-b"},
	}
	for _, tt := range tests {
		got, err := expand(tt.in, envMap(env))
		if err != nil || got != tt.want {
			t.Errorf("expand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"${MISSING}", "${", "${HOST", "${}", "${A-B}", "${ HOST}"} {
		if _, err := expand(bad, envMap(env)); err == nil {
			t.Errorf("expand(%q) succeeded, want an error", bad)
		}
	}
}

func TestEnvExpansionInConfig(t *testing.T) {
	doc := "public_url: https://${HOST}\nproject: ${PROJECT:-fromdefault}\nredirect_allowlist: [\"https://${APP}\"]\nproviders:\n  \"${KEY}\":\n    type: oidc\n    issuer: https://login.example\n    client_id: c\n    client_secret: pa$$word${SUFFIX:-}\nsession:\n  duration: ${DUR}\nrefresh:\n  enabled: ${ON:-false}\n" + secretsYAML
	_, ps := parse(t, doc, map[string]string{"HOST": "auth.example.com", "APP": "app.example.com", "DUR": "48h"})
	if ps == nil {
		t.Fatal("a key with ${...} was accepted; keys must not be expanded")
	}
	if len(ps) != 1 || ps[0].Key != "providers.${KEY}" {
		t.Fatalf("want only the provider key problem, got:\n%v", ps)
	}
	c, ps := parse(t, strings.Replace(doc, `"${KEY}"`, "k", 1), map[string]string{"HOST": "auth.example.com", "APP": "app.example.com", "DUR": "48h"})
	if ps != nil {
		t.Fatalf("problems:\n%v", ps)
	}
	if c.PublicURL != "https://auth.example.com" || c.Project != "fromdefault" || c.RedirectAllowlist[0] != "https://app.example.com" ||
		c.Providers["k"].Config.(*oidc.Config).ClientSecret != "pa$word" || c.Session.Duration != 48*time.Hour || c.Refresh.RefreshEnabled() {
		t.Errorf("expansion wrong: %+v", c)
	}
}

func TestLoadExampleConfig(t *testing.T) {
	env := map[string]string{
		"SB_SESSION_KEY":       key33,
		"SB_TOKEN_KEY":         key32,
		"SB_API_KEY":           "an-api-key-of-enough-length",
		"GITHUB_CLIENT_ID":     "gh-id",
		"GITHUB_CLIENT_SECRET": "gh-secret",
		"CORP_SECRET":          "corp-secret",
		"KEYCLOAK_SECRET":      "keycloak-secret",
	}
	path := filepath.Join("..", "..", "config.example.yaml")
	c, err := Load(path, envMap(env))
	if err != nil {
		t.Fatalf("config.example.yaml is rejected:\n%v", err)
	}
	if want := []string{"github", "corp", "sso", "legacy"}; !reflect.DeepEqual(c.ProviderOrder, want) {
		t.Errorf("ProviderOrder = %v, want %v", c.ProviderOrder, want)
	}
	if c.Providers["github"].Config.(*presets.Entry).ClientSecret != "gh-secret" || c.Providers["legacy"].Config.(*oauth2.Entry).ClientID != "sessionbridge" {
		t.Error("example env expansion wrong")
	}
	// Without its environment the example names every missing variable.
	_, err = Load(path, envMap(nil))
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Load without env: %v", err)
	}
	for _, name := range []string{"SB_SESSION_KEY", "SB_TOKEN_KEY", "SB_API_KEY", "GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET", "CORP_SECRET"} {
		if !strings.Contains(ps.Error(), "environment variable "+name+" is not set") {
			t.Errorf("no problem names %s:\n%v", name, ps)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), envMap(nil))
	var ps Problems
	if err == nil || errors.As(err, &ps) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want a plain not-exist error", err)
	}
}

func TestDocumentSizeBounded(t *testing.T) {
	root, err := parseDocument([]byte("redirect_allowlist: [" + strings.Repeat("https://a.example,", 20) + "]\n"))
	if err != nil {
		t.Fatal(err)
	}
	d := &decoder{collector: newCollector("sb.yaml"), env: envMap(nil), limit: 10}
	d.value(root, "", reflect.ValueOf(&Config{}).Elem())
	ps := d.list
	// The root mapping and the list are nodes 1 and 2, so item 8 is node 11.
	if len(ps) != 1 || ps[0].Key != "redirect_allowlist[8]" || !strings.Contains(ps[0].Message, "too large") {
		t.Errorf("got %v", ps)
	}
}

// FuzzParse checks that no input makes Parse panic or return both a config
// and an error. Run with: go test -fuzz=FuzzParse ./bridge/config
func FuzzParse(f *testing.F) {
	f.Add([]byte(secretsYAML))
	f.Add([]byte("providers:\n  a: &x {type: oidc}\n  b: *x\n  c: [1]\n"))
	f.Add([]byte("listen: ${A:-${B}}\napi_keys: [{id: 1}, 2]\nsession: {duration: 1e9}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("f.yaml", data, envMap(map[string]string{"A": "x"}))
		if (c == nil) == (err == nil) {
			t.Fatalf("Parse returned config %v and error %v", c != nil, err)
		}
	})
}
