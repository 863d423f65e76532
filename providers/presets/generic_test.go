package presets_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/sessionbridge/sessionbridge/internal/devissuer"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testissuer"
	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/oidc"
	"github.com/sessionbridge/sessionbridge/providers/providerconfig"
	"github.com/sessionbridge/sessionbridge/providers/providertest"
)

// TestGenericOIDCExtras: type oidc accepts auth_params and refresh: false.
func TestGenericOIDCExtras(t *testing.T) {
	iss := testissuer.Start(t, devissuer.Options{ClientID: clientID, ClientSecret: clientSecret, RedirectURIs: []string{providertest.RedirectURL("corp")},
		AutoApprove: &devissuer.User{Subject: "s1", Email: "a@example.com"}})
	base := iss.URL()
	no := false
	cfg := &oidc.Config{Issuer: base, ClientID: clientID, ClientSecret: clientSecret,
		AuthParams: map[string]string{"prompt": "login"}, Refresh: &no}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := providertest.Open(ctx, "corp", cfg, providertest.RedirectURL("corp"), providerconfig.Env{})
	if err != nil {
		t.Fatal(err)
	}
	waitReady(t, p)
	u, err := p.AuthCodeURL(context.Background(), providertest.NewAuthRequest("corp"))
	if err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse(u)
	if pu.Query().Get("prompt") != "login" || pu.Query().Get("nonce") == "" {
		t.Fatalf("auth URL %s", u)
	}
	if _, err := p.Refresh(context.Background(), providers.RefreshRequest{RefreshToken: "x"}); !providers.IsPermanent(err) {
		t.Fatalf("refresh: %v", err)
	}
	if p.(interface{ Info() providers.Info }).Info().Type != "oidc" {
		t.Fatal("type")
	}
}
