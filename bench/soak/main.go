// Command soak keeps many live sessions fresh and reports what it costs:
// it seeds -sessions sessions through the store (due times spread evenly
// over a token lifetime, as logins arriving at a steady rate spread
// them), serves a cheap fake OpenID provider (discovery and a token
// endpoint that answers at once, no ID token), runs `sessionbridge
// refresh` on the store and `sessionbridge serve` beside it (refresher
// off, on the same store), and after -duration prints refreshes/s, worst
// and p99 lateness, expired_before_refresh, CPU per refresh, resident
// memory, store size and the session check (wrk) at that size. It is not
// a test: run it by hand (README "Performance").
//
//	go run ./bench/soak -sessions 1000000 -ttl 20m -before 5m -duration 10m
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"
)

type options struct {
	sessions       int
	ttl, before    time.Duration
	duration       time.Duration
	dir            string
	driver, dsn    string
	checkFor       time.Duration
	keep           bool
	seedWorkers    int
	refreshWorkers int
	seedLead       time.Duration
}

func main() {
	var o options
	flag.IntVar(&o.sessions, "sessions", 1_000_000, "live sessions to seed")
	flag.DurationVar(&o.ttl, "ttl", 20*time.Minute, "provider access-token lifetime")
	flag.DurationVar(&o.before, "before", 5*time.Minute, "refresh.before_expiry")
	flag.DurationVar(&o.duration, "duration", 10*time.Minute, "measured steady state")
	flag.StringVar(&o.dir, "dir", "", "working directory (default: a temporary one)")
	flag.StringVar(&o.driver, "driver", "sqlite", "sqlite | postgres")
	flag.StringVar(&o.dsn, "dsn", "", "PostgreSQL URL with a search_path of an empty schema (driver postgres)")
	flag.DurationVar(&o.checkFor, "check-duration", 10*time.Second, "wrk duration of the session check at full size")
	flag.BoolVar(&o.keep, "keep", false, "keep the working directory")
	flag.IntVar(&o.seedWorkers, "seed-workers", 8, "concurrent seeders")
	flag.IntVar(&o.refreshWorkers, "concurrency", 0, "refresh.concurrency (0: the default)")
	flag.DurationVar(&o.seedLead, "seed-lead", 3*time.Minute, "when the first seeded grant falls due, from the start of seeding (seeding must not make grants late)")
	flag.Parse()
	log.SetFlags(log.Ltime)
	if err := run(context.Background(), o); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, o options) error {
	if o.dir == "" {
		d, err := os.MkdirTemp("", "sessionbridge-soak-")
		if err != nil {
			return err
		}
		o.dir = d
	}
	if !o.keep {
		defer os.RemoveAll(o.dir)
	}
	if o.driver == "sqlite" {
		o.dsn = filepath.Join(o.dir, "soak.db")
	}
	bin := filepath.Join(o.dir, "sessionbridge")
	if err := build(ctx, bin); err != nil {
		return err
	}
	prov, err := startProvider(o.ttl, o.before)
	if err != nil {
		return err
	}
	keys := newKeys()
	began := time.Now()
	userID, first, err := seed(ctx, o, keys)
	if err != nil {
		return err
	}
	log.Printf("seeded %d sessions in %v", o.sessions, time.Since(began).Round(time.Second))
	r, err := measure(ctx, o, bin, keys, prov, userID, first)
	if err != nil {
		return err
	}
	r.seed = time.Since(began) - r.elapsed
	fmt.Print(r.String(o))
	return nil
}
