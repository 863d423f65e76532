package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/app"
	"github.com/sessionbridge/sessionbridge/bridge/config"
	"github.com/sessionbridge/sessionbridge/internal/version"
)

const serveUsage = `Usage: sessionbridge serve [--config FILE] [--listen ADDR]

Serves the Appwrite-compatible API, the login and account pages and (unless refresh.enabled
is false) the token refresher. Without --config and SESSIONBRIDGE_CONFIG it starts in
development mode: SQLite under ./sessionbridge-data/, generated keys, and a fake OpenID
provider "dev" on loopback.

`

// shutdownGrace bounds how long in-flight requests and refreshes may take
// to finish after SIGINT/SIGTERM; it is stretched to refresh.timeout + 15s
// when that is longer, so that a token request already sent can still
// store its rotated refresh token (see shutdownBound).
const shutdownGrace = 20 * time.Second

// shutdownBound is how long a stopping process waits for in-flight work:
// a refresh sent just before the signal needs its request (refresh.timeout)
// and then its write.
func shutdownBound(refreshTimeout time.Duration) time.Duration {
	return max(shutdownGrace, refreshTimeout+15*time.Second)
}

// devDataDir is where development mode keeps its database and keys.
const devDataDir = "sessionbridge-data"

func cmdServe(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", serveUsage, stdout, stderr)
	path := fs.String("config", "", "configuration file (default $SESSIONBRIDGE_CONFIG; none: development mode)")
	listen := fs.String("listen", "", "listen address, overriding the configuration's listen")
	logFlags := addLogFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *listen != "" {
		if msg := config.ListenProblem(*listen); msg != "" {
			return usagef("serve: --listen: %s", msg)
		}
	}
	cfg, closeDev, err := serveConfig(configPath(*path), *listen, logFlags, stderr)
	if err != nil {
		return err
	}
	defer closeDev()
	log := newLogger(cfg, stderr)
	if cfg.Dev {
		log.Warn("DEVELOPMENT MODE: no configuration given; using a fake OpenID provider \"dev\", generated keys in ./" + devDataDir + " and SQLite. Do not use this in production.")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	a, err := app.Build(ctx, cfg, log, app.Options{})
	if err != nil {
		return err
	}
	defer a.Close()

	servers, err := serveListeners(cfg, a, log)
	if err != nil {
		return err
	}
	ln := servers[0].ln
	log.Info("sessionbridge listening", append([]any{"addr", ln.Addr().String(), "public_url", cfg.PublicURL,
		"project", cfg.Project, "store", cfg.Store.Driver, "refresher", cfg.Refresh.RefreshEnabled(), "dev", cfg.Dev},
		version.Get().LogAttrs()...)...)
	if cfg.Dev {
		fmt.Fprintf(stderr, "\n  sessionbridge development mode: open %s/ and sign in with \"dev\"\n\n", cfg.PublicURL)
	}
	return runUntilSignal(ctx, log, servers, a, cfg.Refresh.RefreshEnabled())
}

// serveConfig is the configuration serve runs with: the file's, or
// development mode's (then closeDev stops its issuer), with the flags'
// overrides applied.
func serveConfig(file, listen string, lf logFlags, stderr io.Writer) (cfg *config.Config, closeDev func(), err error) {
	closeDev = func() {}
	if file != "" {
		if cfg, err = loadConfig(file); err != nil {
			return nil, closeDev, err
		}
		if listen != "" {
			cfg.Listen = listen
		}
		return cfg, closeDev, lf.apply(cfg)
	}
	cfg = config.Dev(listen)
	cfg.Store.DSN = filepath.Join(devDataDir, "sessionbridge.db")
	cfg.RedirectAllowlist = loopbackAliases(cfg.Listen)
	if err := lf.apply(cfg); err != nil {
		return nil, closeDev, err
	}
	devOpts, err := devOptions()
	if err != nil {
		return nil, closeDev, err
	}
	iss, err := app.PrepareDev(cfg, devDataDir, newLogger(cfg, stderr), devOpts)
	if err != nil {
		return nil, closeDev, err
	}
	return cfg, func() { _ = iss.Close() }, nil
}

// serveListeners opens the public listener and, when ops.listen is set,
// the ops listener (metrics, health, readiness, pprof).
func serveListeners(cfg *config.Config, a *app.App, log *slog.Logger) ([]listening, error) {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	servers := []listening{{app.NewHTTPServer(a.Handler, log), ln}}
	if cfg.Ops.Listen == "" {
		return servers, nil
	}
	opsLn, err := net.Listen("tcp", cfg.Ops.Listen)
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("listen on ops.listen %s: %w", cfg.Ops.Listen, err)
	}
	ops := app.NewHTTPServer(a.ServeOpsHandler, log)
	log.Info("ops listener: /metrics, /healthz, /readyz, /debug/pprof/", "addr", opsLn.Addr().String())
	return append(servers, listening{ops, opsLn}), nil
}

// listening is an HTTP server and the listener it serves.
type listening struct {
	srv *http.Server
	ln  net.Listener
}

// runUntilSignal serves until ctx ends, then stops accepting, lets
// in-flight requests and refreshes finish within shutdownGrace, and returns.
func runUntilSignal(ctx context.Context, log *slog.Logger, servers []listening, a *app.App, refresher bool) error {
	refreshCtx, stopRefresh := context.WithCancel(context.Background())
	defer stopRefresh()
	var wg sync.WaitGroup
	wg.Go(func() { a.Janitor.Run(refreshCtx) })
	if refresher {
		wg.Go(func() {
			if err := a.Refresher.Run(refreshCtx); err != nil {
				log.Error("refresher stopped", "err", err)
			}
		})
	}
	serveErr := make(chan error, len(servers))
	for _, l := range servers {
		go func() { serveErr <- l.srv.Serve(l.ln) }()
	}

	grace := shutdownBound(a.Config.Refresh.Timeout)
	var err error
	select {
	case <-ctx.Done():
		log.Info("shutting down: no new requests or claims; finishing in-flight work", "grace", grace)
	case err = <-serveErr:
	}
	// The refresher stops claiming at once, while HTTP requests drain;
	// then every refresh under way (the loop's and the on-demand ones,
	// which outlive their requests) may finish before the store closes.
	stopRefresh()
	graceCtx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	for _, l := range servers {
		if shutErr := l.srv.Shutdown(graceCtx); shutErr != nil {
			log.Warn("in-flight requests cut off at the end of the grace period", "err", shutErr)
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-graceCtx.Done():
		log.Warn("refresher did not stop within the grace period")
	}
	if werr := a.Refresher.WaitOnDemand(graceCtx); werr != nil {
		log.Warn("on-demand refreshes cut off at the end of the grace period")
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	if err == nil {
		log.Info("stopped")
	}
	return err
}

// devTokenTTLEnv shortens the development issuer's access-token lifetime
// (a Go duration; default 2m), so that tests and demos need not wait.
const devTokenTTLEnv = "SESSIONBRIDGE_DEV_TOKEN_TTL"

// devOptions reads the development-mode settings from the environment.
func devOptions() (app.DevOptions, error) {
	var o app.DevOptions
	if v := os.Getenv(devTokenTTLEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return o, usagef("%s=%q: want a positive duration such as 20s", devTokenTTLEnv, v)
		}
		o.TokenTTL = d
	}
	return o, nil
}

// newLogger builds the process logger from the log section. Durations
// are written as Go duration strings ("1.5s"), not nanoseconds.
func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	_ = level.UnmarshalText([]byte(strings.ToUpper(cfg.Log.Level)))
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: durationsAsStrings}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func durationsAsStrings(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.StringValue(a.Value.Duration().String())
	}
	return a
}

// logFlags are --log-format and --log-level, which (like the environment
// variables SESSIONBRIDGE_LOG_FORMAT and SESSIONBRIDGE_LOG_LEVEL)
// override the log section, and set the log of development mode.
type logFlags struct{ format, level *string }

func addLogFlags(fs *flag.FlagSet) logFlags {
	return logFlags{
		format: fs.String("log-format", os.Getenv("SESSIONBRIDGE_LOG_FORMAT"), "log format: text | json (default $SESSIONBRIDGE_LOG_FORMAT, else log.format)"),
		level:  fs.String("log-level", os.Getenv("SESSIONBRIDGE_LOG_LEVEL"), "log level: debug | info | warn | error (default $SESSIONBRIDGE_LOG_LEVEL, else log.level)"),
	}
}

// apply checks the values and puts them into cfg.
func (l logFlags) apply(cfg *config.Config) error {
	if f := *l.format; f != "" {
		if f != "text" && f != "json" {
			return usagef("--log-format %q: want text or json", f)
		}
		cfg.Log.Format = f
	}
	if v := *l.level; v != "" {
		var lv slog.Level
		if err := lv.UnmarshalText([]byte(strings.ToUpper(v))); err != nil {
			return usagef("--log-level %q: want debug, info, warn or error", v)
		}
		cfg.Log.Level = strings.ToLower(v)
	}
	return nil
}

// loopbackAliases lets a development-mode bridge on 127.0.0.1 also be
// opened as localhost (and the reverse): both name its own origin.
func loopbackAliases(listen string) []string {
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		return nil
	}
	return []string{"http://localhost:" + port, "http://127.0.0.1:" + port}
}
