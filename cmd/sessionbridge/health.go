package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

const healthUsage = `Usage: sessionbridge health [--url URL] [--config FILE]

Probes a running sessionbridge's /healthz and exits 0 when it answers 200, 1 otherwise. It is
the container image's health check (the image has no shell or curl). The URL is --url; else,
with a configuration (--config or SESSIONBRIDGE_CONFIG), /healthz on ops.listen when set, or
on listen; else http://127.0.0.1:8080/healthz.

`

// healthTimeout bounds the probe: a health check must answer quickly.
const healthTimeout = 5 * time.Second

func cmdHealth(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("health", healthUsage, stdout, stderr)
	rawURL := fs.String("url", "", "URL to probe (default: from the configuration, else http://127.0.0.1:8080/healthz)")
	path := fs.String("config", "", "configuration file (default $SESSIONBRIDGE_CONFIG)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	target := *rawURL
	if target == "" {
		target = "http://127.0.0.1:8080/healthz"
		if file := configPath(*path); file != "" {
			cfg, err := loadConfig(file)
			if err != nil {
				return err
			}
			addr := cfg.Listen
			if cfg.Ops.Listen != "" {
				addr = cfg.Ops.Listen
			}
			target = "http://" + dialable(addr) + "/healthz"
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), healthTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return usagef("health: --url: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("health: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health: %s answered HTTP %d", target, resp.StatusCode)
	}
	fmt.Fprintf(stdout, "ok: %s\n", target)
	return nil
}

// dialable turns a listen address into one a local client can dial: an
// unspecified host (":8080", "0.0.0.0:8080", "[::]:8080") becomes loopback.
func dialable(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return net.JoinHostPort(host, port)
}
