package oauth2

import (
	"strings"
	"testing"
)

func TestExtract(t *testing.T) {
	doc, err := DecodeJSON([]byte(`{
		"id": 12345678901234567890,
		"small": 42,
		"float": 1.5,
		"name": "  Ada  ",
		"verified": true,
		"data": {"user": {"id": "u-1", "tags": ["a", "b"]}},
		"emails": [{"value": "ada@example.com", "primary": true}],
		"first_name": "Ada", "last_name": "Lovelace", "empty": "",
		"nested": {"obj": {"x": 1}}, "nul": null,
		"dotted.key": "no"
	}`))
	if err != nil {
		t.Fatal(err)
	}
	tok := map[string]any{"stripe_user_id": "acct_1"}
	for _, tc := range []struct{ path, want string }{
		{"id", "12345678901234567890"},
		{"small", "42"},
		{"float", "1.5"},
		{"name", "Ada"},
		{"verified", "true"},
		{"data.user.id", "u-1"},
		{"data.user.tags.1", "b"},
		{"data.user.tags.2", ""},
		{"data.user.tags.-1", ""},
		{"data.user.tags.x", ""},
		{"emails.0.value", "ada@example.com"},
		{"missing", ""},
		{"data.missing.id", ""},
		{"nested.obj", ""},
		{"nul", ""},
		{"name.deeper", ""},
		{"empty|first_name", "Ada"},
		{"missing | name", "Ada"},
		{"first_name + last_name", "Ada Lovelace"},
		{"first_name+missing", "Ada"},
		{"empty + missing | small", "42"},
		{"token:stripe_user_id|id", "acct_1"},
		{"token:missing|id", "12345678901234567890"},
		{"dotted.key", ""},
	} {
		if got := Extract(doc, tok, tc.path); got != tc.want {
			t.Errorf("Extract(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
}

func TestCheckPath(t *testing.T) {
	for _, ok := range []string{"id", "a.b.0.c", "a|b", "a + b", "token:x"} {
		if err := CheckPath(ok); err != nil {
			t.Errorf("CheckPath(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "a.", ".a", "a..b", "a|", "|a", "a + ", "token:"} {
		if err := CheckPath(bad); err == nil {
			t.Errorf("CheckPath(%q) = nil, want an error", bad)
		}
	}
}

func TestParseBool(t *testing.T) {
	for s, want := range map[string]bool{"true": true, "TRUE": true, "1": true, "yes": true, "false": false, "0": false, "": false, "2": false} {
		if ParseBool(s) != want {
			t.Errorf("ParseBool(%q) != %v", s, want)
		}
	}
}

func TestDecodeJSONRejectsTrailingData(t *testing.T) {
	if _, err := DecodeJSON([]byte(`{} {}`)); err == nil {
		t.Fatal("want an error")
	}
	if _, err := DecodeJSON([]byte(`<html>`)); err == nil {
		t.Fatal("want an error")
	}
}

func TestValidate(t *testing.T) {
	good := Config{ClientID: "c", AuthURL: "https://p.example/a", TokenURL: "https://p.example/t", Claims: Claims{UID: "id"}}
	if err := Validate(good); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"no client", func(c *Config) { c.ClientID = "" }, "client_id is required"},
		{"no auth url", func(c *Config) { c.AuthURL = "" }, "auth_url is required"},
		{"no token url", func(c *Config) { c.TokenURL = "" }, "token_url is required"},
		{"plain http", func(c *Config) { c.TokenURL = "http://p.example/t" }, "must use https"},
		{"relative", func(c *Config) { c.AuthURL = "/a" }, "not an absolute"},
		{"credentials", func(c *Config) { c.AuthURL = "https://u:p@p.example/a" }, "user name or password"},
		{"fragment", func(c *Config) { c.UserinfoURL = "https://p.example/me#x" }, "fragment"},
		{"userinfo http", func(c *Config) { c.UserinfoURL = "http://p.example/me" }, "userinfo_url"},
		{"secret in a URL", func(c *Config) { c.UserinfoURL = "https://p.example/me?key={client_secret}" }, "userinfo_url: {client_secret} may be used only in header values"},
		{"auth style", func(c *Config) { c.AuthStyle = "auto" }, "auth_style"},
		{"method", func(c *Config) { c.UserinfoMethod = "PUT" }, "userinfo_method"},
		{"no uid", func(c *Config) { c.Claims.UID = "" }, "claims.uid is required"},
		{"bad path", func(c *Config) { c.Claims.Email = "a..b" }, "claims.email"},
		{"separator", func(c *Config) { c.ScopeSeparator = "&" }, "scope_separator"},
		{"long separator", func(c *Config) { c.ScopeSeparator = ", " }, "scope_separator"},
		{"reserved param", func(c *Config) { c.AuthParams = map[string]string{"state": "x"} }, "auth_params.state"},
		{"header name", func(c *Config) { c.UserinfoHeaders = map[string]string{"Bad Name": "x"} }, "header name"},
		{"header value", func(c *Config) { c.UserinfoHeaders = map[string]string{"X-A": "a\r\nb"} }, "one line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.mutate(&c)
			err := Validate(c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	for _, ok := range []string{"http://127.0.0.1:8080/a", "http://localhost/a", "http://[::1]/a"} {
		c := good
		c.AuthURL = ok
		if err := Validate(c); err != nil {
			t.Errorf("loopback %s refused: %v", ok, err)
		}
	}
}
