package presets

import (
	"context"
	"strings"

	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/oauth2"
)

// emailList takes the e-mail from the provider's {userinfo_url}/emails
// list: the primary address when it is verified. The user endpoint of these
// providers only shows a public address, which may be absent, and says
// nothing about verification. When the list cannot be read (the scope was
// not granted), the user endpoint's address is kept as unverified.
type emailList struct {
	// page is the member holding the list in a paginated answer, "" when
	// the answer is the list itself.
	page                     string
	email, primary, verified string
}

// githubEmails reads GitHub's /user/emails.
func githubEmails() *emailList {
	return &emailList{email: "email", primary: "primary", verified: "verified"}
}

// bitbucketEmails reads Bitbucket's /2.0/user/emails, whose answer is
// paginated ({"values": [...]}).
func bitbucketEmails() *emailList {
	return &emailList{page: "values", email: "email", primary: "is_primary", verified: "is_confirmed"}
}

func (q *emailList) CompleteIdentity(ctx context.Context, in oauth2.IdentityInput, id *providers.Identity) error {
	doc, err := in.API.Get(ctx, strings.TrimSuffix(in.UserinfoURL, "/")+"/emails")
	if err != nil {
		id.EmailVerified = false
		return nil
	}
	if q.page != "" {
		m, _ := doc.(map[string]any)
		doc = m[q.page]
	}
	list, _ := doc.([]any)
	pickEmail(id, list, q.email, q.primary, q.verified)
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

// primaryEmail takes the address flagged primary from a list inside the
// user-info answer itself (Bitly's emails[].is_primary, PayPal's
// emails[].primary); the claims' emails.0 path is only the fallback, as
// the first address listed need not be the primary one. verified is ""
// when the list says nothing about verification.
type primaryEmail struct {
	list, email, primary, verified string
}

func bitlyEmails() primaryEmail {
	return primaryEmail{list: "emails", email: "email", primary: "is_primary", verified: "is_verified"}
}

func paypalEmails() primaryEmail {
	return primaryEmail{list: "emails", email: "value", primary: "primary"}
}

func (q primaryEmail) CompleteIdentity(_ context.Context, in oauth2.IdentityInput, id *providers.Identity) error {
	v, _ := oauth2.Lookup(in.Userinfo, q.list)
	list, _ := v.([]any)
	for _, e := range list {
		if !oauth2.ParseBool(oauth2.Extract(e, nil, q.primary)) {
			continue
		}
		if addr := oauth2.Extract(e, nil, q.email); addr != "" {
			id.Email = addr
			id.EmailVerified = q.verified != "" && oauth2.ParseBool(oauth2.Extract(e, nil, q.verified))
		}
		return nil
	}
	return nil
}
