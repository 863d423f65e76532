package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/sessionbridge/sessionbridge/bridge/app"
	"github.com/sessionbridge/sessionbridge/internal/version"
)

const refreshUsage = `Usage: sessionbridge refresh --config FILE

Runs the token refresher alone, as a daemon, on the configured store. Any number of refresh
daemons and serve processes may share one store: each refresh is made exactly once.
Serves only /healthz, /readyz and /metrics on refresh.listen.

`

func cmdRefresh(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("refresh", refreshUsage, stdout, stderr)
	path := fs.String("config", "", "configuration file (default $SESSIONBRIDGE_CONFIG)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	file := configPath(*path)
	if file == "" {
		return usagef("refresh: --config FILE is required")
	}
	cfg, err := loadConfig(file)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a, err := app.Build(ctx, cfg, log, app.Options{OpsOnly: true})
	if err != nil {
		return err
	}
	defer a.Close()
	ln, err := net.Listen("tcp", cfg.Refresh.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Refresh.Listen, err)
	}
	srv := app.NewHTTPServer(a.OpsHandler, log)
	log.Info("sessionbridge refresh daemon", append([]any{"addr", ln.Addr().String(), "store", cfg.Store.Driver},
		version.Get().LogAttrs()...)...)
	return runUntilSignal(ctx, log, []listening{{srv, ln}}, a, true)
}
