package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/app"
	"github.com/sessionbridge/sessionbridge/bridge/config"
	"github.com/sessionbridge/sessionbridge/providers/presets"
)

const checkUsage = `Usage: sessionbridge check --config FILE [--online]

Validates the configuration file and prints every problem as FILE:LINE: key: message.
With --online it also fetches each OpenID provider's discovery document and reaches the store
read-only: it reports the schema version serve would start from, and creates or migrates nothing.
Exit status: 0 when the file is valid, 2 when it is not.

`

func cmdCheck(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check", checkUsage, stdout, stderr)
	path := fs.String("config", "", "configuration file (default $SESSIONBRIDGE_CONFIG)")
	online := fs.Bool("online", false, "also reach each provider's discovery document and the store")
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
	cfg, err := config.Loader{Presets: presets.Checker{}}.Load(file)
	if err != nil {
		return nil, usageError{err}
	}
	return cfg, nil
}

// checkOnline fetches every OIDC discovery document and probes the store
// without changing it. notes are what serve would change in the store
// (informational); problems are what would make it fail.
func checkOnline(cfg *config.Config) (notes, problems []string) {
	client := &http.Client{Timeout: 10 * time.Second}
	for _, key := range cfg.ProviderOrder {
		p := cfg.Providers[key]
		if p.Type != "oidc" || p.Issuer == "" {
			continue
		}
		url := p.Issuer + "/.well-known/openid-configuration"
		resp, err := client.Get(url)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s:%d: providers.%s.issuer: discovery failed: %v", cfg.File, p.Line, key, err))
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			problems = append(problems, fmt.Sprintf("%s:%d: providers.%s.issuer: discovery answered HTTP %d", cfg.File, p.Line, key, resp.StatusCode))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	note, err := app.ProbeStore(ctx, cfg)
	if err != nil {
		problems = append(problems, fmt.Sprintf("%s: store: %v", cfg.File, err))
	} else if note != "" {
		notes = append(notes, fmt.Sprintf("%s: store: %s", cfg.File, note))
	}
	return notes, problems
}
