package app

import (
	"context"
	"log/slog"

	"github.com/sessionbridge/sessionbridge/bridge"
	"github.com/sessionbridge/sessionbridge/bridge/config"
	"github.com/sessionbridge/sessionbridge/bridge/lifecycle"
	"github.com/sessionbridge/sessionbridge/bridge/seal"
	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/providers"
)

// Admin is what the operator commands (sessions, keys) work with: the
// configured store, the token keys and the domain service, without
// providers, refresher or HTTP (nothing reaches a provider).
type Admin struct {
	Store   store.Store
	Keys    *seal.Keyring
	Service *bridge.Service
	// Ended counts the sessions the commands end (reason revoked).
	Ended *lifecycle.Recorder
}

// OpenAdmin opens the configured store for the operator commands. Sessions
// they end are counted under lifecycle.Revoked like an API revoke, and
// ended through the same store deletes, so every instance learns it.
func OpenAdmin(ctx context.Context, cfg *config.Config, log *slog.Logger) (*Admin, error) {
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	keys, err := seal.New(cfg.Secrets.TokenKeyBytes)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	ended, err := lifecycle.New(nil)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	svc := bridge.New(bridge.Options{Store: st, Keys: keys, Providers: providers.Registry{}, Logger: log, Ended: ended})
	return &Admin{Store: st, Keys: keys, Service: svc, Ended: ended}, nil
}

// Close closes the store.
func (a *Admin) Close() error { return a.Store.Close() }
