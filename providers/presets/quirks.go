package presets

import (
	"fmt"

	"github.com/sessionbridge/sessionbridge/providers/oauth2"
	"github.com/sessionbridge/sessionbridge/providers/providerconfig"
)

// hookEnv is what a quirk constructor may use.
type hookEnv struct {
	preset   Preset
	settings map[string]string
	clientID string
	// userinfoURL is the expanded (and, in tests, rewritten) user-info URL.
	userinfoURL string
	// opts are the injected dependencies (Apple fetches its key set).
	opts providerconfig.Env
}

// newHooks builds the Go hooks a preset names in its `quirks` list.
func newHooks(env hookEnv) ([]any, error) {
	var hooks []any
	for _, q := range env.preset.Quirks {
		switch q {
		case "github-emails":
			hooks = append(hooks, githubEmails())
		case "bitbucket-emails":
			hooks = append(hooks, bitbucketEmails())
		case "bitly-emails":
			hooks = append(hooks, bitlyEmails())
		case "paypal-emails":
			hooks = append(hooks, paypalEmails())
		case "microsoft":
			hooks = append(hooks, microsoftEmail{})
		case "yammer-token":
			hooks = append(hooks, yammerToken{})
		case "etsy-user":
			hooks = append(hooks, etsyUser{})
		case "github-grant":
			hooks = append(hooks, githubGrant{})
		case "zoho-dc":
			hooks = append(hooks, zohoServer{configured: env.settings["accounts_domain"]})
		case "x-confirmed-email":
			hooks = append(hooks, xConfirmedEmail{})
		case "apple":
			a, err := newApple(env)
			if err != nil {
				return nil, err
			}
			hooks = append(hooks, a)
		default:
			return nil, fmt.Errorf("preset %s names unknown quirk %q", env.preset.Name, q)
		}
	}
	return hooks, nil
}

// checkQuirk validates settings a quirk interprets (for `check`); it
// returns the field and a message, or "" when fine.
func checkQuirk(name string, settings map[string]string) (string, string) {
	if name == "apple" {
		if _, err := parseP8(settings["private_key"]); err != nil {
			return "settings.private_key", err.Error()
		}
	}
	return "", ""
}

// Compile-time checks: each quirk implements the hooks it is meant to.
var (
	_ oauth2.IdentityHook      = (*emailList)(nil)
	_ oauth2.IdentityHook      = primaryEmail{}
	_ oauth2.IdentityHook      = microsoftEmail{}
	_ oauth2.TokenResponseHook = yammerToken{}
	_ oauth2.IdentityHook      = etsyUser{}
	_ oauth2.IdentityHook      = xConfirmedEmail{}
	_ oauth2.GrantHook         = zohoServer{}
	_ oauth2.AuthURLHook       = (*apple)(nil)
	_ oauth2.ClientSecretHook  = (*apple)(nil)
	_ oauth2.IdentityHook      = (*apple)(nil)
	_ oauth2.RefreshHook       = (*apple)(nil)
)
