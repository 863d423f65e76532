package app

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/config"
	"github.com/sessionbridge/sessionbridge/internal/devissuer"
	"github.com/sessionbridge/sessionbridge/providers/oidc"
)

// DevProvider is the provider key of the development-mode issuer.
const DevProvider = "dev"

// devKeys are generated on the first development-mode start and kept in
// the data folder, so sessions survive restarts.
type devKeys struct {
	SessionKey   string `json:"session_key"`
	TokenKey     string `json:"token_key"`
	ClientSecret string `json:"dev_client_secret"`
}

// DevOptions tune development mode.
type DevOptions struct {
	// TokenTTL is the dev issuer's access-token lifetime (0:
	// devissuer.DefaultAccessTokenTTL, 2 minutes); tests shorten it.
	TokenTTL time.Duration
}

// devIssuerFile keeps the dev issuer's key, URL and grants in the data
// folder, so that sessions survive a restart.
const devIssuerFile = "dev-issuer.json"

// PrepareDev completes a development-mode configuration: the data folder
// (0700) with generated keys (0600), and a real OpenID Connect issuer on
// loopback registered as provider "dev", whose state (signing key, URL,
// grants) is kept in the data folder so sessions survive a restart. The
// caller closes the issuer.
func PrepareDev(cfg *config.Config, dataDir string, log *slog.Logger, o DevOptions) (*devissuer.Issuer, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data folder: %w", err)
	}
	if err := os.Chmod(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("restrict data folder: %w", err)
	}
	keys, err := loadOrCreateDevKeys(filepath.Join(dataDir, "keys.json"))
	if err != nil {
		return nil, err
	}
	sk, _ := base64.StdEncoding.DecodeString(keys.SessionKey)
	tk, _ := base64.StdEncoding.DecodeString(keys.TokenKey)
	if len(sk) < 32 || len(tk) != 32 || keys.ClientSecret == "" {
		return nil, fmt.Errorf("%s is damaged: delete it to generate new keys (existing sessions end)", filepath.Join(dataDir, "keys.json"))
	}
	cfg.Secrets.SessionKeyBytes = [][]byte{sk}
	cfg.Secrets.TokenKeyBytes = [][]byte{tk}

	const clientID = "sessionbridge-dev"
	ttl := o.TokenTTL
	if ttl <= 0 {
		ttl = devissuer.DefaultAccessTokenTTL
	}
	iss, err := devissuer.New(devissuer.Options{
		ClientID: clientID, ClientSecret: keys.ClientSecret,
		RedirectURIs:        []string{callbackURL(cfg, DevProvider)},
		AccessTokenTTL:      ttl,
		RotateRefreshTokens: true, DetectReuse: true, AdvertiseIssParameter: true,
		Logger:    log.With("component", "dev-issuer"),
		StateFile: filepath.Join(dataDir, devIssuerFile),
	})
	if err != nil {
		return nil, err
	}
	issuerURL, err := startDevIssuer(iss, log)
	if err != nil {
		return nil, err
	}
	if cfg.Providers == nil {
		cfg.Providers = map[string]config.Provider{}
	}
	cfg.Providers[DevProvider] = config.Provider{
		Key: DevProvider, Type: "oidc", DisplayName: "Dev (fake OpenID provider)",
		Config: &oidc.Config{Issuer: issuerURL, ClientID: clientID, ClientSecret: keys.ClientSecret, AuthStyle: "basic"},
	}
	cfg.ProviderOrder = []string{DevProvider}
	return iss, nil
}

// startDevIssuer listens on the port the issuer had before (its URL is in
// every session's ID tokens), or, the first time or when that port is
// taken, on a new one with a fresh state.
func startDevIssuer(iss *devissuer.Issuer, log *slog.Logger) (string, error) {
	if saved := iss.URL(); saved != "" {
		u, err := url.Parse(saved)
		if err == nil && u.Host != "" {
			if got, err := iss.Start(u.Host); err == nil {
				return got, nil
			}
			log.Warn("the development issuer's port "+u.Port()+" (from the last run) is taken by another program; starting it afresh on a new port. "+
				"Sessions from earlier runs cannot be refreshed any more and will end; sign in again.", "old_issuer", saved)
		}
		iss.ResetState()
	}
	got, err := iss.Start("127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("start the development issuer: %w", err)
	}
	return got, nil
}

func loadOrCreateDevKeys(path string) (devKeys, error) {
	var k devKeys
	data, err := os.ReadFile(path)
	if err == nil {
		if err := json.Unmarshal(data, &k); err != nil {
			return k, fmt.Errorf("%s is damaged: delete it to generate new keys (existing sessions end)", path)
		}
		return k, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return k, fmt.Errorf("read %s: %w", path, err)
	}
	k = devKeys{SessionKey: randomKey(32), TokenKey: randomKey(32), ClientSecret: randomKey(32)}
	data, _ = json.MarshalIndent(k, "", "  ")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return k, fmt.Errorf("create %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return k, err
	}
	return k, f.Close()
}

func randomKey(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return base64.StdEncoding.EncodeToString(b)
}
