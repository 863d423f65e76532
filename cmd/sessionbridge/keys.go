package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/sessionbridge/sessionbridge/bridge/reseal"
)

const keysUsage = `Usage: sessionbridge keys reseal [--config FILE] [--batch N]

Re-encrypts every sealed provider token in the configured store with the first entry of
secrets.token_keys, in batches, so that an older key can then be removed from the list. It is
safe while serve and refresh run: each row is rewritten only if no one changed it meanwhile
(a changed row is read again), and a row being refreshed is left to that refresh, which seals
with the first key too. Prints a progress line per batch and a final count; check --online
reports how many rows still need it.

`

func cmdKeys(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, keysUsage)
		if len(args) == 0 {
			return usagef("keys: reseal?")
		}
		return nil
	}
	if args[0] != "reseal" {
		return usagef("keys: unknown subcommand %q (reseal)", args[0])
	}
	fs := newFlags("keys reseal", keysUsage, stdout, stderr)
	path := fs.String("config", "", "configuration file (default $SESSIONBRIDGE_CONFIG)")
	batch := fs.Int("batch", reseal.DefaultBatch, "rows per batch")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *batch <= 0 {
		return usagef("keys reseal: --batch must be positive")
	}
	a, done, err := openAdmin(*path)
	if err != nil {
		return err
	}
	defer done()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// On a terminal the progress is one counter rewritten in place;
	// otherwise (a log, a pipe) one plain line per batch.
	tty := isTerminal(stdout)
	res, err := reseal.Run(ctx, a.Store, a.Keys, reseal.Options{Batch: *batch, Progress: func(r reseal.Result) {
		end := "\n"
		if tty {
			fmt.Fprint(stdout, "\r")
			end = ""
		}
		fmt.Fprintf(stdout, "scanned %d, resealed %d, already current %d%s", r.Scanned, r.Resealed, r.Current, end)
	}})
	if tty {
		fmt.Fprintln(stdout)
	}
	if err != nil {
		return fmt.Errorf("keys reseal: %w (after %d resealed)", err, res.Resealed)
	}
	fmt.Fprintf(stdout, "done: %d session(s) scanned, %d resealed with the first token key, %d already current, %d gone meanwhile\n",
		res.Scanned, res.Resealed, res.Current, res.Gone)
	if res.Leased > 0 || res.Unreadable > 0 {
		return fmt.Errorf("keys reseal: %d row(s) stayed leased by a refresh (run again) and %d cannot be opened with any configured key", res.Leased, res.Unreadable)
	}
	return nil
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
