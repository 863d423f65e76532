package presets

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/oauth2"
)

// microsoftEmail: Graph's `mail` is often empty and `userPrincipalName` is
// a sign-in name that need not be a mailbox (guests look like
// alice_example.com#EXT#@tenant.onmicrosoft.com), and Microsoft asserts no
// verification for either. So the address is never verified, and a guest
// UPN is not used as an address at all.
type microsoftEmail struct{}

func (microsoftEmail) CompleteIdentity(_ context.Context, _ oauth2.IdentityInput, id *providers.Identity) error {
	if strings.Contains(strings.ToUpper(id.Email), "#EXT#") || !strings.Contains(id.Email, "@") {
		id.Email = ""
	}
	id.EmailVerified = false
	return nil
}

// yammerToken: Yammer answers {"access_token": {"token": "...", ...},
// "user": {...}}; the RFC 6749 shape is restored before parsing.
type yammerToken struct{}

func (yammerToken) RewriteTokenResponse(body []byte) ([]byte, error) {
	var doc map[string]any
	if json.Unmarshal(body, &doc) != nil {
		return body, nil // not JSON: left for the normal error path
	}
	at, ok := doc["access_token"].(map[string]any)
	if !ok {
		return body, nil
	}
	tok, _ := at["token"].(string)
	doc["access_token"] = tok
	if _, ok := doc["token_type"]; !ok {
		doc["token_type"] = "Bearer"
	}
	return json.Marshal(doc)
}

// etsyUser: /v3/application/users/me only names the user ID; the address
// and name come from /v3/application/users/{user_id}. A failure there
// keeps the login (the ID is what identifies the user).
type etsyUser struct{}

func (etsyUser) CompleteIdentity(ctx context.Context, in oauth2.IdentityInput, id *providers.Identity) error {
	if id.Subject == "" {
		return nil
	}
	base := strings.TrimSuffix(in.UserinfoURL, "/me")
	doc, err := in.API.Get(ctx, base+"/"+url.PathEscape(id.Subject))
	if err != nil {
		return nil
	}
	if e := oauth2.Extract(doc, nil, "primary_email"); e != "" {
		id.Email = e
	}
	if n := oauth2.Extract(doc, nil, "first_name + last_name"); n != "" {
		id.Name = n
	}
	return nil
}

// xConfirmedEmail: X returns confirmed_email (users.email scope) only for
// an address the user has confirmed, so a present one is verified.
type xConfirmedEmail struct{}

func (xConfirmedEmail) CompleteIdentity(_ context.Context, _ oauth2.IdentityInput, id *providers.Identity) error {
	id.EmailVerified = id.Email != ""
	return nil
}

// zohoDataCentres are the accounts servers of Zoho's data centres
// (https://www.zoho.com/accounts/protocol/oauth/multi-dc.html): the only
// hosts a callback's accounts-server may name.
var zohoDataCentres = []string{
	"accounts.zoho.com", "accounts.zoho.eu", "accounts.zoho.in", "accounts.zoho.com.au",
	"accounts.zoho.jp", "accounts.zoho.com.cn", "accounts.zohocloud.ca", "accounts.zoho.sa", "accounts.zoho.uk",
}

// zohoServer: Zoho serves a user from their data centre's accounts server,
// which the callback names (accounts-server); the code must be redeemed
// there, and the grant refreshed there afterwards. The host is kept as the
// grant's data and swapped into the configured endpoints.
type zohoServer struct{ configured string }

func (z zohoServer) GrantData(cb providers.Callback) (string, error) {
	raw := ""
	if v := cb.Form["accounts-server"]; len(v) > 0 {
		raw = v[len(v)-1]
	}
	if raw == "" {
		return "", nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.User != nil || u.Port() != "" || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" ||
		!slices.Contains(zohoDataCentres, strings.ToLower(u.Hostname())) {
		return "", fmt.Errorf("the callback's accounts-server is not one of Zoho's data centres")
	}
	return strings.ToLower(u.Hostname()), nil
}

func (z zohoServer) Endpoint(configured, grantData string) string {
	if grantData == "" || grantData == z.configured {
		return configured
	}
	return strings.Replace(configured, z.configured+"/", grantData+"/", 1)
}
