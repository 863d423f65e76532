package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/sessionbridge/sessionbridge/bridge/config"
	"github.com/sessionbridge/sessionbridge/providers"
	"github.com/sessionbridge/sessionbridge/providers/presets"
)

// buildProviders creates every configured provider. A provider that is
// down is still created: it retries discovery in the background and its
// logins fail cleanly until then.
func buildProviders(ctx context.Context, cfg *config.Config, log *slog.Logger, o Options) (providers.Registry, error) {
	reg := providers.Registry{}
	for _, key := range cfg.ProviderOrder {
		pc := cfg.Providers[key]
		pc.Key = key
		p, err := presets.Build(ctx, pc, callbackURL(cfg, key), presets.Options{
			HTTPClient: o.HTTPClient, Logger: log, Now: o.Now,
		})
		if err != nil {
			return nil, fmt.Errorf("providers.%s: %w", key, err)
		}
		reg[key] = p
	}
	return reg, nil
}
