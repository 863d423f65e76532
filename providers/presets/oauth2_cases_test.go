package presets_test

import (
	"net/url"

	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/providertest"
)

// oauthCase describes one plain-OAuth2 preset's fake: its answers in the
// shapes the provider documents, and the identity a login must yield.
type oauthCase struct {
	settings map[string]string
	token    providertest.Response // default: providertest.StdToken
	refresh  providertest.Response // default: stdRefresh
	apis     map[string]string     // URL without query -> JSON body
	methods  map[string]string
	want     providers.Identity
	// noRefreshToken: the login answer carries no refresh token.
	noRefreshToken bool
	// noExpiry: the login answer carries no expires_in.
	noExpiry bool
	// check inspects the requests the fake received.
	check func(t testingT, f *providertest.Fake)
	// fake makes the fake behave as the provider documents beyond the
	// defaults (Autodesk's nonce with openid, say).
	fake func(*providertest.Spec)
}

var (
	stdRefresh = providertest.Response{Body: `{"access_token":"{access_token}","token_type":"Bearer","expires_in":3600,"refresh_token":"{refresh_token}"}`}
)

func jsonResp(body string) providertest.Response { return providertest.Response{Body: body} }

// oauthCases covers every kind: oauth2 preset except apple (apple_test.go).
var oauthCases = map[string]oauthCase{
	"amazon": {
		apis: map[string]string{"https://api.amazon.com/user/profile": `{"user_id":"amzn1.account.K2LI23KL2LK2","email":"mhashimoto-04@plaxo.com","name":"Mork Hashimoto","postal_code":"98052"}`},
		want: providers.Identity{Subject: "amzn1.account.K2LI23KL2LK2", Email: "mhashimoto-04@plaxo.com", Name: "Mork Hashimoto"},
	},
	"autodesk": {
		// Autodesk requires a nonce when openid is requested; the preset
		// does not request openid (its user-info needs user-profile:read).
		fake: func(s *providertest.Spec) { s.NonceWithScope = "openid" },
		apis: map[string]string{"https://api.aps.autodesk.com/userinfo": `{"sub":"ABCDEFGH","name":"John Doe","given_name":"John","family_name":"Doe","preferred_username":"johndoe","email":"john.doe@example.com","email_verified":true,"updated_at":1662583480}`},
		want: providers.Identity{Subject: "ABCDEFGH", Email: "john.doe@example.com", EmailVerified: true, Name: "John Doe"},
	},
	"bitbucket": {
		apis: map[string]string{
			"https://api.bitbucket.org/2.0/user":        `{"type":"user","uuid":"{d301aafa-d676-4ee0-88be-962be7417567}","account_id":"557058:c0b72ad0","display_name":"Ada Lovelace","nickname":"ada","username":"ada"}`,
			"https://api.bitbucket.org/2.0/user/emails": `{"pagelen":10,"values":[{"is_primary":false,"is_confirmed":true,"type":"email","email":"old@example.com"},{"is_primary":true,"is_confirmed":true,"type":"email","email":"ada@example.com"}],"page":1,"size":2}`,
		},
		want: providers.Identity{Subject: "{d301aafa-d676-4ee0-88be-962be7417567}", Email: "ada@example.com", EmailVerified: true, Name: "Ada Lovelace"},
	},
	"bitly": {
		token:          providertest.Response{ContentType: "application/x-www-form-urlencoded", Body: "access_token={access_token}&login=ada&apiKey=R_0123456789"},
		apis:           map[string]string{"https://api-ssl.bitly.com/v4/user": `{"login":"ada","name":"Ada Lovelace","is_active":true,"default_group_guid":"Ba1bc23dE4F","emails":[{"email":"old@example.com","is_primary":false,"is_verified":true},{"email":"ada@example.com","is_primary":true,"is_verified":true}]}`},
		want:           providers.Identity{Subject: "ada", Email: "ada@example.com", EmailVerified: true, Name: "Ada Lovelace"},
		noRefreshToken: true, noExpiry: true,
	},
	"box": {
		token: jsonResp(`{"access_token":"{access_token}","expires_in":3600,"issued_token_type":"urn:ietf:params:oauth:token-type:access_token","refresh_token":"{refresh_token}","restricted_to":[],"token_type":"bearer"}`),
		apis:  map[string]string{"https://api.box.com/2.0/users/me": `{"id":"11446498","type":"user","name":"Aaron Levie","login":"ceo@example.com","status":"active"}`},
		want:  providers.Identity{Subject: "11446498", Email: "ceo@example.com", Name: "Aaron Levie"},
	},
	"dailymotion": {
		apis: map[string]string{"https://api.dailymotion.com/user/me": `{"id":"x1fz4ii","screenname":"Ada L.","username":"ada","email":"ada@example.com"}`},
		want: providers.Identity{Subject: "x1fz4ii", Email: "ada@example.com", Name: "Ada L."},
		check: func(t testingT, f *providertest.Fake) {
			requireQuery(t, f, "https://api.dailymotion.com/user/me", "fields", "id,screenname,username,email")
		},
	},
	"discord": {
		token: jsonResp(`{"access_token":"{access_token}","token_type":"Bearer","expires_in":604800,"refresh_token":"{refresh_token}","scope":"identify email"}`),
		apis:  map[string]string{"https://discord.com/api/v10/users/@me": `{"id":"80351110224678912","username":"nelly","discriminator":"0","global_name":"Nelly","avatar":"8342729096ea3675442027381ff50dfe","verified":true,"email":"nelly@discord.com","flags":64}`},
		want:  providers.Identity{Subject: "80351110224678912", Email: "nelly@discord.com", EmailVerified: true, Name: "Nelly"},
	},
	"disqus": {
		token: jsonResp(`{"access_token":"{access_token}","expires_in":2592000,"username":"ada","refresh_token":"{refresh_token}","user_id":"12345","token_type":"Bearer","scope":"read,email"}`),
		apis:  map[string]string{"https://disqus.com/api/3.0/users/details.json": `{"code":0,"response":{"id":"12345","username":"ada","name":"Ada Lovelace","email":"ada@example.com","isAnonymous":false}}`},
		want:  providers.Identity{Subject: "12345", Email: "ada@example.com", Name: "Ada Lovelace"},
		check: func(t testingT, f *providertest.Fake) {
			requireQuery(t, f, "https://disqus.com/api/3.0/users/details.json", "api_key", clientID)
			if got := f.LastAuthorize().Get("scope"); got != "read,email" {
				t.Errorf("disqus scope %q, want comma-separated", got)
			}
		},
	},
	"dropbox": {
		token:   jsonResp(`{"access_token":"{access_token}","expires_in":14400,"token_type":"bearer","scope":"account_info.read","refresh_token":"{refresh_token}","account_id":"dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc","uid":"12345"}`),
		refresh: jsonResp(`{"access_token":"{access_token}","expires_in":14400,"token_type":"bearer"}`),
		apis:    map[string]string{"https://api.dropboxapi.com/2/users/get_current_account": `{"account_id":"dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc","name":{"given_name":"Franz","surname":"Ferdinand","familiar_name":"Franz","display_name":"Franz Ferdinand (Personal)","abbreviated_name":"FF"},"email":"franz@dropbox.com","email_verified":true,"disabled":false}`},
		methods: map[string]string{"https://api.dropboxapi.com/2/users/get_current_account": "POST"},
		want:    providers.Identity{Subject: "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc", Email: "franz@dropbox.com", EmailVerified: true, Name: "Franz Ferdinand (Personal)"},
		check: func(t testingT, f *providertest.Fake) {
			if f.LastAuthorize().Get("token_access_type") != "offline" {
				t.Errorf("dropbox: token_access_type=offline missing")
			}
		},
	},
	"etsy": {
		apis: map[string]string{
			"https://api.etsy.com/v3/application/users/me":       `{"user_id":12345678,"shop_id":987654}`,
			"https://api.etsy.com/v3/application/users/12345678": `{"user_id":12345678,"primary_email":"ada@example.com","first_name":"Ada","last_name":"Lovelace","image_url_75x75":null}`,
		},
		want: providers.Identity{Subject: "12345678", Email: "ada@example.com", Name: "Ada Lovelace"},
		check: func(t testingT, f *providertest.Fake) {
			f.RequireHeader(t, "https://api.etsy.com/v3/application/users/me", "x-api-key", clientID+":"+clientSecret)
		},
	},
	"facebook": {
		token:          jsonResp(`{"access_token":"{access_token}","token_type":"bearer","expires_in":5183944}`),
		apis:           map[string]string{"https://graph.facebook.com/v26.0/me": `{"id":"10158000000000001","name":"Ada Lovelace","email":"ada@example.com"}`},
		want:           providers.Identity{Subject: "10158000000000001", Email: "ada@example.com", Name: "Ada Lovelace"},
		noRefreshToken: true,
		check: func(t testingT, f *providertest.Fake) {
			requireQuery(t, f, "https://graph.facebook.com/v26.0/me", "fields", "id,name,email")
		},
	},
	"figma": {
		token:   jsonResp(`{"user_id":1234567890,"user_id_string":"1234567890","access_token":"{access_token}","token_type":"bearer","expires_in":7776000,"refresh_token":"{refresh_token}"}`),
		refresh: jsonResp(`{"access_token":"{access_token}","token_type":"bearer","expires_in":7776000}`),
		apis:    map[string]string{"https://api.figma.com/v1/me": `{"id":"1234567890","email":"ada@example.com","handle":"Ada Lovelace","img_url":"https://example.com/a.png"}`},
		want:    providers.Identity{Subject: "1234567890", Email: "ada@example.com", Name: "Ada Lovelace"},
	},
	"fusionauth": {
		settings: map[string]string{"base_url": "https://auth.example.com"},
		apis:     map[string]string{"https://auth.example.com/oauth2/userinfo": `{"applicationId":"3c219e58-ed0e-4b18-ad48-f4f92793ae32","email":"ada@example.com","email_verified":true,"family_name":"Lovelace","given_name":"Ada","name":"Ada Lovelace","roles":[],"sub":"858a4b01-62c8-4c2f-bfa7-6d018833bea7"}`},
		want:     providers.Identity{Subject: "858a4b01-62c8-4c2f-bfa7-6d018833bea7", Email: "ada@example.com", EmailVerified: true, Name: "Ada Lovelace"},
	},
	"gitea": {
		apis: map[string]string{"https://gitea.com/login/oauth/userinfo": `{"sub":"42","name":"","preferred_username":"ada","email":"ada@example.com","email_verified":true,"picture":"https://gitea.com/avatars/x","groups":null}`},
		want: providers.Identity{Subject: "42", Email: "ada@example.com", Name: "ada"}, // Gitea's userinfo has no email_verified
	},
	"github": {
		token: jsonResp(`{"access_token":"{access_token}","expires_in":28800,"refresh_token":"{refresh_token}","refresh_token_expires_in":15811200,"scope":"","token_type":"bearer"}`),
		apis: map[string]string{
			"https://api.github.com/user":        `{"login":"octocat","id":583231,"node_id":"MDQ6VXNlcjE=","name":"The Octocat","email":null,"type":"User"}`,
			"https://api.github.com/user/emails": `[{"email":"other@example.com","verified":false,"primary":false,"visibility":null},{"email":"octocat@github.com","verified":true,"primary":true,"visibility":"public"}]`,
		},
		want: providers.Identity{Subject: "583231", Email: "octocat@github.com", EmailVerified: true, Name: "The Octocat"},
		check: func(t testingT, f *providertest.Fake) {
			f.RequireHeader(t, "https://github.com/login/oauth/access_token", "Accept", "application/json")
		},
		// GitHub revokes through its grant API, not RFC 7009.
		fake: func(s *providertest.Spec) { s.GrantURL, s.RevocationURL = s.RevocationURL, "" },
	},
	"kick": {
		token: jsonResp(`{"access_token":"{access_token}","token_type":"Bearer","refresh_token":"{refresh_token}","expires_in":3600,"scope":"user:read"}`),
		apis:  map[string]string{"https://api.kick.com/public/v1/users": `{"data":[{"email":"ada@example.com","name":"ada","profile_picture":"https://example.com/p.png","user_id":123456}],"message":"OK"}`},
		want:  providers.Identity{Subject: "123456", Email: "ada@example.com", Name: "ada"},
	},
	"linkedin": {
		token: jsonResp(`{"access_token":"{access_token}","expires_in":5184000,"scope":"openid,profile,email","token_type":"Bearer","id_token":"eyJ.x.y","refresh_token":"{refresh_token}"}`),
		apis:  map[string]string{"https://api.linkedin.com/v2/userinfo": `{"sub":"782bbtaQ","name":"John Doe","given_name":"John","family_name":"Doe","picture":"https://media.licdn-ei.com/x","locale":"en-US","email":"doe@email.com","email_verified":true}`},
		want:  providers.Identity{Subject: "782bbtaQ", Email: "doe@email.com", EmailVerified: true, Name: "John Doe"},
	},
	"microsoft": {
		settings: map[string]string{"tenant": "contoso.onmicrosoft.com"},
		apis:     map[string]string{"https://graph.microsoft.com/v1.0/me": `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#users/$entity","businessPhones":[],"displayName":"Adele Vance","givenName":"Adele","jobTitle":null,"mail":null,"surname":"Vance","userPrincipalName":"AdeleV@contoso.com","id":"87d349ed-44d7-43e1-9a83-5f2406dee5bd"}`},
		want:     providers.Identity{Subject: "87d349ed-44d7-43e1-9a83-5f2406dee5bd", Email: "AdeleV@contoso.com", Name: "Adele Vance"},
	},
	"notion": {
		token:    jsonResp(`{"access_token":"{access_token}","token_type":"bearer","refresh_token":"{refresh_token}","bot_id":"b3414d65-1224-5ty7-6ffr-cc9d8773fbd6","workspace_name":"Ada's workspace","workspace_icon":null,"workspace_id":"j565j4d7x3-ryf7-5ty7-cc9d8773fbd6","owner":{"type":"user","user":{"object":"user","id":"7dd49c8e-5b4a-4a04-b2a6-fd2bc7f7f5f5","name":"Ada Lovelace","avatar_url":null,"type":"person","person":{"email":"ada@example.com"}}},"duplicated_template_id":null}`),
		want:     providers.Identity{Subject: "7dd49c8e-5b4a-4a04-b2a6-fd2bc7f7f5f5", Email: "ada@example.com", Name: "Ada Lovelace"},
		noExpiry: true,
		check: func(t testingT, f *providertest.Fake) {
			if f.LastAuthorize().Get("owner") != "user" {
				t.Errorf("notion: owner=user missing")
			}
		},
	},
	"patreon": {
		token: jsonResp(`{"access_token":"{access_token}","refresh_token":"{refresh_token}","expires_in":2678400,"scope":"identity identity[email]","token_type":"Bearer"}`),
		apis:  map[string]string{"https://www.patreon.com/api/oauth2/v2/identity": `{"data":{"attributes":{"email":"ada@example.com","full_name":"Ada Lovelace","is_email_verified":true},"id":"12345678","type":"user"},"links":{"self":"https://www.patreon.com/api/oauth2/v2/user/12345678"}}`},
		want:  providers.Identity{Subject: "12345678", Email: "ada@example.com", EmailVerified: true, Name: "Ada Lovelace"},
	},
	"paypal": {
		token: jsonResp(`{"token_type":"Bearer","expires_in":"28800","refresh_token":"{refresh_token}","access_token":"{access_token}","scope":"openid profile email"}`),
		apis:  map[string]string{"https://api-m.paypal.com/v1/identity/oauth2/userinfo": `{"user_id":"https://www.paypal.com/webapps/auth/identity/user/mWq6_1sU85v5EG9yHdPxJRrhGHrnMJ-1PQKtX6pcsmA","name":"identity test","emails":[{"value":"old@example.com","primary":false},{"value":"user1@example.com","primary":true}],"verified_account":"true"}`},
		want:  providers.Identity{Subject: "https://www.paypal.com/webapps/auth/identity/user/mWq6_1sU85v5EG9yHdPxJRrhGHrnMJ-1PQKtX6pcsmA", Email: "user1@example.com", Name: "identity test"},
	},
	"paypal-sandbox": {
		apis: map[string]string{"https://api-m.sandbox.paypal.com/v1/identity/oauth2/userinfo": `{"user_id":"https://www.paypal.com/webapps/auth/identity/user/sandbox-1","name":"Sandbox User","emails":[{"value":"sb@example.com","primary":true,"confirmed":false}]}`},
		want: providers.Identity{Subject: "https://www.paypal.com/webapps/auth/identity/user/sandbox-1", Email: "sb@example.com", Name: "Sandbox User"},
	},
	"podio": {
		token: jsonResp(`{"access_token":"{access_token}","token_type":"bearer","expires_in":28800,"refresh_token":"{refresh_token}","ref":{"type":"user","id":12345}}`),
		apis:  map[string]string{"https://api.podio.com/user/status": `{"user":{"user_id":12345,"mail":"ada@example.com","status":"active"},"profile":{"name":"Ada Lovelace","profile_id":111}}`},
		want:  providers.Identity{Subject: "12345", Email: "ada@example.com", Name: "Ada Lovelace"},
		check: func(t testingT, f *providertest.Fake) {
			requireHeaderPrefix(t, f, "https://api.podio.com/user/status", "Authorization", "OAuth2 ")
			f.RequireHeader(t, "https://api.podio.com/oauth/token/v2", "Content-Type", "application/json")
		},
	},
	"reddit": {
		token: jsonResp(`{"access_token":"{access_token}","token_type":"bearer","expires_in":86400,"scope":"identity","refresh_token":"{refresh_token}"}`),
		apis:  map[string]string{"https://oauth.reddit.com/api/v1/me": `{"id":"abc123","name":"ada_l","icon_img":"https://example.com/i.png","total_karma":1}`},
		want:  providers.Identity{Subject: "abc123", Name: "ada_l"},
		check: func(t testingT, f *providertest.Fake) {
			if f.LastAuthorize().Get("duration") != "permanent" {
				t.Errorf("reddit: duration=permanent missing")
			}
			f.RequireHeader(t, "https://oauth.reddit.com/api/v1/me", "User-Agent", "sessionbridge/1.0")
		},
	},
	"spotify": {
		token: jsonResp(`{"access_token":"{access_token}","token_type":"Bearer","scope":"user-read-email user-read-private","expires_in":3600,"refresh_token":"{refresh_token}"}`),
		apis:  map[string]string{"https://api.spotify.com/v1/me": `{"country":"SE","display_name":"JM Wizzler","email":"email@example.com","id":"wizzler","account_id":"aB3dE5fG7h","type":"user","uri":"spotify:user:wizzler"}`},
		want:  providers.Identity{Subject: "aB3dE5fG7h", Email: "email@example.com", Name: "JM Wizzler"},
	},
	"stripe": {
		token:    jsonResp(`{"access_token":"{access_token}","livemode":false,"refresh_token":"{refresh_token}","token_type":"bearer","stripe_publishable_key":"pk_test_x","stripe_user_id":"acct_1032D82eZvKYlo2C","scope":"read_only"}`),
		apis:     map[string]string{"https://api.stripe.com/v1/account": `{"id":"acct_1032D82eZvKYlo2C","object":"account","business_profile":{"name":"Acme Inc","url":null},"email":"site@stripe.com","settings":{"dashboard":{"display_name":"Acme"}}}`},
		want:     providers.Identity{Subject: "acct_1032D82eZvKYlo2C", Email: "site@stripe.com", Name: "Acme Inc"},
		noExpiry: true,
	},
	"tradeshift": {
		apis: map[string]string{"https://api.tradeshift.com/tradeshift/rest/external/account/info/user": `{"Id":"9a3f5b2e-0000-4000-8000-000000000001","Username":"ada@example.com","FirstName":"Ada","LastName":"Lovelace","Language":"en"}`},
		want: providers.Identity{Subject: "9a3f5b2e-0000-4000-8000-000000000001", Email: "ada@example.com", Name: "Ada Lovelace"},
	},
	"tradeshift-sandbox": {
		apis: map[string]string{"https://api-sandbox.tradeshift.com/tradeshift/rest/external/account/info/user": `{"Id":"sandbox-1","Username":"sb@example.com","FirstName":"Sand","LastName":""}`},
		want: providers.Identity{Subject: "sandbox-1", Email: "sb@example.com", Name: "Sand"},
	},
	"twitch": {
		token: jsonResp(`{"access_token":"{access_token}","expires_in":14124,"refresh_token":"{refresh_token}","scope":["user:read:email"],"token_type":"bearer"}`),
		apis:  map[string]string{"https://api.twitch.tv/helix/users": `{"data":[{"id":"141981764","login":"twitchdev","display_name":"TwitchDev","type":"","broadcaster_type":"partner","description":"","email":"not-real@email.com","created_at":"2016-12-14T20:32:28Z"}]}`},
		want:  providers.Identity{Subject: "141981764", Email: "not-real@email.com", Name: "TwitchDev"},
		check: func(t testingT, f *providertest.Fake) {
			f.RequireHeader(t, "https://api.twitch.tv/helix/users", "Client-Id", clientID)
		},
	},
	"wordpress": {
		token:          jsonResp(`{"access_token":"{access_token}","blog_id":"12345","blog_url":"https://example.wordpress.com","token_type":"bearer","scope":"auth"}`),
		apis:           map[string]string{"https://public-api.wordpress.com/rest/v1.1/me": `{"ID":12345678,"display_name":"Ada","username":"ada","email":"ada@example.com","email_verified":true,"primary_blog":12345}`},
		want:           providers.Identity{Subject: "12345678", Email: "ada@example.com", EmailVerified: true, Name: "Ada"},
		noRefreshToken: true, noExpiry: true,
	},
	"x": {
		token: jsonResp(`{"token_type":"bearer","expires_in":7200,"access_token":"{access_token}","scope":"users.read tweet.read users.email offline.access","refresh_token":"{refresh_token}"}`),
		apis:  map[string]string{"https://api.x.com/2/users/me": `{"data":{"id":"2244994945","name":"X Dev","username":"XDevelopers","confirmed_email":"dev@example.com"}}`},
		want:  providers.Identity{Subject: "2244994945", Email: "dev@example.com", EmailVerified: true, Name: "X Dev"},
		check: func(t testingT, f *providertest.Fake) {
			requireQuery(t, f, "https://api.x.com/2/users/me", "user.fields", "confirmed_email")
		},
	},
	"yammer": {
		token:          jsonResp(`{"access_token":{"user_id":1234,"network_id":5678,"network_permalink":"example.com","network_name":"Example","token":"{access_token}","view_members":true,"authorized_at":"2011/04/06 16:25:46 +0000","expires_at":null},"user":{"id":1234,"full_name":"Ada Lovelace"},"network":{"id":5678}}`),
		apis:           map[string]string{"https://www.yammer.com/api/v1/users/current.json": `{"type":"user","id":1234,"network_id":5678,"full_name":"Ada Lovelace","email":"ada@example.com","job_title":"Analyst"}`},
		want:           providers.Identity{Subject: "1234", Email: "ada@example.com", Name: "Ada Lovelace"},
		noRefreshToken: true, noExpiry: true,
	},
	"yandex": {
		token: jsonResp(`{"token_type":"bearer","access_token":"{access_token}","expires_in":31536000,"refresh_token":"{refresh_token}"}`),
		apis:  map[string]string{"https://login.yandex.ru/info": `{"id":"1000034426","login":"ivan","client_id":"4760187d81bc4b7799476b42b5103713","display_name":"Ivan","real_name":"Ivan Ivanov","first_name":"Ivan","last_name":"Ivanov","sex":"male","default_email":"test@yandex.ru","emails":["test@yandex.ru"],"psuid":"1.AAceCw.tbHgw5DtJ9_zeqPrk-Ba2w.qPWSRC5v2t2IaksPJgnge"}`},
		want:  providers.Identity{Subject: "1000034426", Email: "test@yandex.ru", Name: "Ivan Ivanov"},
		check: func(t testingT, f *providertest.Fake) {
			requireHeaderPrefix(t, f, "https://login.yandex.ru/info", "Authorization", "OAuth at-")
		},
	},
	"zoho": {
		// A European user signs in through accounts.zoho.com; Zoho names
		// the EU accounts server in the callback, and only it redeems the
		// code and refreshes.
		fake: func(s *providertest.Spec) {
			s.TokenURL = "https://accounts.zoho.eu/oauth/v2/token"
			s.CallbackParams = url.Values{"accounts-server": {"https://accounts.zoho.eu"}, "location": {"eu"}}
		},
		token:   jsonResp(`{"access_token":"{access_token}","refresh_token":"{refresh_token}","api_domain":"https://www.zohoapis.eu","token_type":"Bearer","expires_in":3600}`),
		refresh: jsonResp(`{"access_token":"{access_token}","api_domain":"https://www.zohoapis.eu","token_type":"Bearer","expires_in":3600}`),
		apis:    map[string]string{"https://accounts.zoho.eu/oauth/user/info": `{"First_Name":"Ada","Email":"ada@example.com","Last_Name":"Lovelace","Display_Name":"","ZUID":123456789012}`},
		want:    providers.Identity{Subject: "123456789012", Email: "ada@example.com", Name: "Ada Lovelace"},
		check: func(t testingT, f *providertest.Fake) {
			q := f.LastAuthorize()
			if q.Get("access_type") != "offline" || q.Get("prompt") != "consent" {
				t.Errorf("zoho: access_type/prompt missing: %v", q)
			}
			if _, ok := f.FindRequest("https://accounts.zoho.eu/oauth/v2/token"); !ok {
				t.Errorf("zoho: the code was not redeemed at the callback's accounts server")
			}
		},
	},
	"zoom": {
		token: jsonResp(`{"access_token":"{access_token}","token_type":"bearer","refresh_token":"{refresh_token}","expires_in":3599,"scope":"user:read:user"}`),
		apis:  map[string]string{"https://api.zoom.us/v2/users/me": `{"id":"KDcuGIm1QgePTO8WbOqwIQ","first_name":"Jill","last_name":"Chill","display_name":"Jill Chill","email":"jchill@example.com","type":1,"verified":1,"pmi":3542471135}`},
		want:  providers.Identity{Subject: "KDcuGIm1QgePTO8WbOqwIQ", Email: "jchill@example.com", Name: "Jill Chill"}, // "verified" is the account's, not the e-mail's
	},
}
