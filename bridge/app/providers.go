package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/sessionbridge/sessionbridge/bridge/config"
	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/providerconfig"
	"github.com/sessionbridge/sessionbridge/providers/registry"
)

// buildProviders opens every configured provider through its type's own
// configuration. A provider that is down is still created: it retries
// discovery in the background and its logins fail cleanly until then.
func buildProviders(ctx context.Context, cfg *config.Config, log *slog.Logger, o Options) (providers.Registry, error) {
	reg := providers.Registry{}
	for _, key := range cfg.ProviderOrder {
		pc := cfg.Providers[key]
		if pc.Config == nil {
			return nil, fmt.Errorf("providers.%s: %s", key, registry.Types{}.Unknown(pc.Type))
		}
		p, err := pc.Config.Open(ctx, providerconfig.Env{
			Key: key, DisplayName: pc.DisplayName, RedirectURL: callbackURL(cfg, key),
			HTTPClient: o.HTTPClient, Logger: log, Now: o.Now,
		})
		if err != nil {
			return nil, fmt.Errorf("providers.%s: %w", key, err)
		}
		reg[key] = p
	}
	return reg, nil
}
