package presets

import (
	"context"
	"strings"

	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/oauth2"
)

// githubEmails takes the e-mail from GitHub's /user/emails: the primary
// address when it is verified. /user only shows the public address, which
// may be absent, and says nothing about verification. When the list cannot
// be read (the user:email scope was not granted), the /user address is kept
// as unverified.
type githubEmails struct{}

func (githubEmails) CompleteIdentity(ctx context.Context, in oauth2.IdentityInput, id *providers.Identity) error {
	doc, err := in.API.Get(ctx, strings.TrimSuffix(in.UserinfoURL, "/")+"/emails")
	if err != nil {
		id.EmailVerified = false
		return nil
	}
	list, _ := doc.([]any)
	pickEmail(id, list, "email", "primary", "verified")
	return nil
}

// bitbucketEmails does the same with Bitbucket's /2.0/user/emails, whose
// answer is paginated ({"values": [...]}).
type bitbucketEmails struct{}

func (bitbucketEmails) CompleteIdentity(ctx context.Context, in oauth2.IdentityInput, id *providers.Identity) error {
	doc, err := in.API.Get(ctx, strings.TrimSuffix(in.UserinfoURL, "/")+"/emails")
	if err != nil {
		id.EmailVerified = false
		return nil
	}
	m, _ := doc.(map[string]any)
	list, _ := m["values"].([]any)
	pickEmail(id, list, "email", "is_primary", "is_confirmed")
	return nil
}

// pickEmail sets the primary verified address; failing that, it marks an
// address already known as verified when the list says so.
func pickEmail(id *providers.Identity, list []any, emailKey, primaryKey, verifiedKey string) {
	id.EmailVerified = false
	for _, e := range list {
		addr := oauth2.Extract(e, nil, emailKey)
		primary := oauth2.ParseBool(oauth2.Extract(e, nil, primaryKey))
		verified := oauth2.ParseBool(oauth2.Extract(e, nil, verifiedKey))
		if primary && verified && addr != "" {
			id.Email, id.EmailVerified = addr, true
			return
		}
	}
	for _, e := range list {
		if id.Email != "" && strings.EqualFold(oauth2.Extract(e, nil, emailKey), id.Email) {
			id.EmailVerified = oauth2.ParseBool(oauth2.Extract(e, nil, verifiedKey))
			return
		}
	}
}
