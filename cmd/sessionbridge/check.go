package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/app"
	"github.com/sessionbridge/sessionbridge/bridge/config"
	"github.com/sessionbridge/sessionbridge/bridge/reseal"
	"github.com/sessionbridge/sessionbridge/providers/probe"
	"github.com/sessionbridge/sessionbridge/providers/providerconfig"
	"github.com/sessionbridge/sessionbridge/providers/registry"
)

const checkUsage = `Usage: sessionbridge check --config FILE [--online]

Validates the configuration file and prints every problem as FILE:LINE: key: message.
With --online it also reaches every provider (OpenID providers and presets that use discovery:
their discovery document is fetched and validated; plain OAuth2 endpoints: resolved and
reached) and the store, read-only: it reports the schema version serve would start from, and
creates or migrates nothing. Problems are reported at the line of the key that decides the URL.
Exit status: 0 when the file is valid, 2 when it is not.

`

func cmdCheck(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check", checkUsage, stdout, stderr)
	path := fs.String("config", "", "configuration file (default $SESSIONBRIDGE_CONFIG)")
	online := fs.Bool("online", false, "also reach every provider and the store")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	file := configPath(*path)
	if file == "" {
		return usagef("check: --config FILE is required")
	}
	cfg, err := loadConfig(file)
	if err != nil {
		return err
	}
	for _, w := range cfg.SecretReuse() {
		fmt.Fprintln(stderr, w)
	}
	if err := app.CheckPages(cfg); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", file, err)
		return usagef("check: the pages cannot be built")
	}
	if *online {
		notes, problems := checkOnline(cfg)
		for _, n := range notes {
			fmt.Fprintln(stdout, n)
		}
		if len(problems) > 0 {
			for _, p := range problems {
				fmt.Fprintln(stderr, p)
			}
			return usagef("check: %d problem(s) found online", len(problems))
		}
	}
	fmt.Fprintf(stdout, "%s: ok (%d provider(s))\n", file, len(cfg.ProviderOrder))
	return nil
}

// loadConfig reads and validates a configuration file; problems are
// usage errors carrying FILE:LINE: key: message lines.
func loadConfig(file string) (*config.Config, error) {
	cfg, err := config.Loader{Types: registry.Types{}}.Load(file)
	if err != nil {
		return nil, usageError{err}
	}
	return cfg, nil
}

// onlineBound bounds each provider's probes and the store probe.
const onlineBound = 10 * time.Second

// checkOnline reaches every provider (discovery documents fetched and
// validated, plain OAuth2 endpoints resolved and answered) and probes the
// store without changing it. notes are what serve would change in the
// store (informational); problems are what would make it fail, each at
// the line of the key that decides the failing URL.
func checkOnline(cfg *config.Config) (notes, problems []string) {
	client := &http.Client{Timeout: onlineBound}
	perProvider := make([][]string, len(cfg.ProviderOrder))
	var wg sync.WaitGroup
	for i, key := range cfg.ProviderOrder {
		wg.Go(func() { perProvider[i] = probeProvider(cfg, key, client) })
	}
	wg.Wait()
	for _, ps := range perProvider {
		problems = append(problems, ps...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), onlineBound)
	defer cancel()
	note, err := app.ProbeStore(ctx, cfg)
	switch {
	case err != nil:
		problems = append(problems, fmt.Sprintf("%s: store: %v", cfg.File, err))
	case note != "":
		notes = append(notes, fmt.Sprintf("%s: store: %s", cfg.File, note))
	case len(cfg.Secrets.TokenKeys) > 1:
		// The schema is current, so opening the store changes nothing.
		notes = append(notes, staleKeysNote(ctx, cfg))
	}
	return notes, problems
}

// staleKeysNote says how many sessions still hold tokens sealed with a
// token key that is not the first: the older keys can be dropped at 0.
func staleKeysNote(ctx context.Context, cfg *config.Config) string {
	a, err := app.OpenAdmin(ctx, cfg, newLogger(cfg, io.Discard))
	if err != nil {
		return fmt.Sprintf("%s: store: cannot count sealed tokens: %v", cfg.File, err)
	}
	defer a.Close()
	stale, scanned, err := reseal.Count(ctx, a.Store, a.Keys, 0)
	if err != nil {
		return fmt.Sprintf("%s: store: cannot count sealed tokens: %v", cfg.File, err)
	}
	line := cfg.Line("secrets.token_keys")
	return fmt.Sprintf("%s:%d: secrets.token_keys: %d of %d session(s) hold tokens sealed with a key that is not the first (sessionbridge keys reseal re-seals them; at 0 the older keys can be removed)",
		cfg.File, line, stale, scanned)
}

// probeProvider reaches one provider's targets and returns its problems.
func probeProvider(cfg *config.Config, key string, client *http.Client) []string {
	at := func(k, msg string) string {
		path := "providers." + key + "." + k
		return fmt.Sprintf("%s:%d: %s: %s", cfg.File, cfg.Line(path), path, msg)
	}
	targeter, ok := cfg.Providers[key].Config.(providerconfig.Targeter)
	if !ok {
		return nil // nothing to reach
	}
	targets, err := targeter.Targets()
	if err != nil {
		return []string{at("type", err.Error())}
	}
	var out []string
	for _, t := range targets {
		ctx, cancel := context.WithTimeout(context.Background(), onlineBound)
		if err := probe.Probe(ctx, t, client); err != nil {
			out = append(out, at(t.Key, err.Error()))
		}
		cancel()
	}
	return out
}
