// Command bench measures sessionbridge side by side with oauth2-proxy
// (v7.15.6) on one machine, against one local OpenID provider (the
// project's dev issuer in its ES256 mode, so that signing ID tokens costs
// little), and prints each figure and the ratio:
//
//   - session check: oauth2-proxy GET /oauth2/auth against sessionbridge
//     GET /v1/account/sessions/current, a valid cookie, wrk -t1 -c32;
//   - full browser login (start → provider → callback → cookie),
//     sequential, then 8 concurrent;
//   - the revocation bound: a session signed out on one sessionbridge
//     instance, until a second instance that has it cached refuses it.
//
// Both peers run with their shipped logging. sessionbridge runs with rate
// limits off, on SQLite and (with -postgres) on PostgreSQL; oauth2-proxy is
// measured again in each store's run so that every ratio compares figures
// taken minutes apart on the same machine state. It is not a test: run it
// by hand (see README "Performance"):
//
//	go run ./bench -postgres 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"time"
)

type options struct {
	postgres    string
	oauth2Proxy string
	checkFor    time.Duration
	loginFor    time.Duration
	revocations int
	stores      string
	workdir     string
	profile     string
}

func main() {
	var o options
	flag.StringVar(&o.postgres, "postgres", "", "PostgreSQL URL for the postgres rows (a fresh schema is created and dropped); empty: SQLite only")
	flag.StringVar(&o.oauth2Proxy, "oauth2-proxy", "", "path to an oauth2-proxy v7.15.6 binary; empty: look in $GOBIN, $GOPATH/bin, PATH, else go install it")
	flag.DurationVar(&o.checkFor, "check-duration", 10*time.Second, "wrk duration of each session-check row")
	flag.DurationVar(&o.loginFor, "login-duration", 6*time.Second, "duration of each login row")
	flag.IntVar(&o.revocations, "revocations", 20, "sign-outs timed for the revocation bound")
	flag.StringVar(&o.stores, "stores", "", "comma-separated subset of sqlite,postgres (default: sqlite, plus postgres when -postgres is set)")
	flag.StringVar(&o.profile, "profile", "", "directory: save sessionbridge's CPU and allocation profiles taken during each login row (via its ops listener)")
	flag.Parse()
	log.SetFlags(log.Ltime)
	if err := run(context.Background(), o); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, o options) error {
	dir, err := os.MkdirTemp("", "sessionbridge-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	o.workdir = dir
	sb, err := buildSessionbridge(ctx, dir)
	if err != nil {
		return err
	}
	op, err := findOAuth2Proxy(ctx, o.oauth2Proxy)
	if err != nil {
		return err
	}
	if _, err := lookWrk(); err != nil {
		return err
	}
	iss, err := startIssuer()
	if err != nil {
		return err
	}
	stores := []string{"sqlite"}
	if o.postgres != "" {
		stores = append(stores, "postgres")
	}
	if o.stores != "" {
		stores = strings.Split(o.stores, ",")
	}
	var results []result
	var stages []stageTimes
	for _, st := range stores {
		r, s, err := runStore(ctx, o, st, sb, op, iss)
		if err != nil {
			return fmt.Errorf("%s: %w", st, err)
		}
		results = append(results, r...)
		stages = append(stages, s...)
	}
	printTable(os.Stdout, results)
	printStages(os.Stdout, stages)
	return nil
}
