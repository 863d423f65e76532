package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sessionbridge/sessionbridge/internal/devissuer"
)

// result is one printed row.
type result struct {
	store, row    string
	peer, ours    float64
	unit          string
	noRatio       bool
	note          string
	oursIsLatency bool
}

// runStore measures every row with sessionbridge on one store.
func runStore(ctx context.Context, o options, st, sbBin, opBin string, iss *devissuer.Issuer) ([]result, []stageTimes, error) {
	dsn := filepath.Join(o.workdir, st+".db")
	if st == "postgres" {
		schema := fmt.Sprintf("sbbench_%d", time.Now().UnixNano())
		var err error
		if dsn, err = pgSchema(ctx, o.postgres, schema); err != nil {
			return nil, nil, err
		}
		defer dropSchema(o.postgres, schema)
	}
	cfg := newSBConfig(st, dsn, iss.URL())
	cfg.refresh = true
	// The ops listener serves /metrics, read around each login row for
	// the stage table (and pprof for -profile).
	cfg.ops = freePort()
	if o.profile != "" {
		if err := os.MkdirAll(o.profile, 0o755); err != nil {
			return nil, nil, err
		}
	}
	sb, err := startSessionbridge(sbBin, o.workdir, "sessionbridge-"+st, cfg)
	if err != nil {
		return nil, nil, err
	}
	defer sb.stop()
	op, err := startOAuth2Proxy(opBin, o.workdir, iss.URL())
	if err != nil {
		return nil, nil, err
	}
	defer op.stop()

	sbBase, opBase := "http://"+sb.addr, "http://"+op.addr
	sbStart := sbBase + "/v1/account/sessions/oauth2/dev?" + url.Values{"success": {sbBase + doneMark}, "failure": {sbBase + "/bench-failed"}}.Encode()
	opStart := opBase + "/oauth2/start?" + url.Values{"rd": {doneMark}}.Encode()

	var out []result
	// Session check.
	sbJar, err := browserLogin(sbStart)
	if err != nil {
		return nil, nil, fmt.Errorf("sessionbridge login: %w", err)
	}
	opJar, err := browserLogin(opStart)
	if err != nil {
		return nil, nil, fmt.Errorf("oauth2-proxy login: %w", err)
	}
	sbCookie, opCookie := cookieOf(sbJar, sbBase, "a_session_default"), cookieOf(opJar, opBase, "_oauth2_proxy")
	log.Printf("%s: session check, oauth2-proxy", st)
	opRate, err := wrk(ctx, o.checkFor, opBase+"/oauth2/auth", map[string]string{"Cookie": "_oauth2_proxy=" + opCookie})
	if err != nil {
		return nil, nil, err
	}
	log.Printf("%s: session check, sessionbridge", st)
	sbRate, err := wrk(ctx, o.checkFor, sbBase+"/v1/account/sessions/current",
		map[string]string{"Cookie": "a_session_default=" + sbCookie, "X-Appwrite-Project": "default"})
	if err != nil {
		return nil, nil, err
	}
	out = append(out, result{store: st, row: "session check (wrk -t1 -c32)", peer: opRate, ours: sbRate, unit: "req/s"})

	logins, stages, err := loginRows(o, st, cfg.ops, opStart, opBase, sbStart, sbBase)
	if err != nil {
		return nil, nil, err
	}
	out = append(out, logins...)

	log.Printf("%s: revocation bound", st)
	r, err := revocationBound(o, sbBin, cfg, sb, sbStart, sbBase)
	if err != nil {
		return nil, nil, err
	}
	return append(out, r), stages, nil
}

// revocationBound starts a second instance on the same store, and times,
// o.revocations times, how long after a sign-out on the first instance
// the second (which has the session cached) refuses it.
func revocationBound(o options, sbBin string, cfg sbConfig, a *process, start, base string) (result, error) {
	cfg.refresh = false
	cfg.ops = ""
	b, err := startSessionbridge(sbBin, o.workdir, "sessionbridge-second-"+cfg.driver, cfg)
	if err != nil {
		return result{}, err
	}
	defer b.stop()
	check := func(addr, cookie string) int {
		req, _ := http.NewRequest("GET", "http://"+addr+"/v1/account/sessions/current", nil)
		req.Header.Set("Cookie", "a_session_default="+cookie)
		req.Header.Set("X-Appwrite-Project", "default")
		resp, err := sharedTransport.RoundTrip(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	var lags []time.Duration
	for range o.revocations {
		jar, err := browserLogin(start)
		if err != nil {
			return result{}, err
		}
		cookie := cookieOf(jar, base, "a_session_default")
		for range 3 {
			if s := check(b.addr, cookie); s != 200 {
				return result{}, fmt.Errorf("second instance: session check %d", s)
			}
		}
		req, _ := http.NewRequest("DELETE", "http://"+a.addr+"/v1/account/sessions/current", nil)
		req.Header.Set("Cookie", "a_session_default="+cookie)
		req.Header.Set("X-Appwrite-Project", "default")
		resp, err := sharedTransport.RoundTrip(req)
		if err != nil || resp.StatusCode != 204 {
			return result{}, fmt.Errorf("sign-out: %v %v", err, resp)
		}
		resp.Body.Close()
		signedOut := time.Now()
		if s := check(a.addr, cookie); s != 401 {
			return result{}, fmt.Errorf("the instance that signed out still answers %d", s)
		}
		for check(b.addr, cookie) != 401 {
			if time.Since(signedOut) > 10*time.Second {
				return result{}, fmt.Errorf("the second instance still accepts a session signed out 10 s ago")
			}
			time.Sleep(2 * time.Millisecond)
		}
		lags = append(lags, time.Since(signedOut))
	}
	slices.Sort(lags)
	return result{store: cfg.driver, row: fmt.Sprintf("revocation seen by a 2nd instance (%d sign-outs)", len(lags)),
		noRatio: true, oursIsLatency: true,
		note: fmt.Sprintf("median %v, worst %v (bound 1 s); refused at once by the instance that signed out",
			lags[len(lags)/2].Round(time.Millisecond), lags[len(lags)-1].Round(time.Millisecond))}, nil
}

// pgSchema creates schema and returns dsn pointing at it.
func pgSchema(ctx context.Context, dsn, schema string) (string, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return "", err
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func dropSchema(dsn, schema string) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	_, _ = conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
}

// loginRows measures the sequential and the 8-concurrent browser login of
// both peers, and where sessionbridge's server time went in each (from its
// /metrics on the ops listener at ops); with -profile, sessionbridge's
// profiles of each row are taken there too.
func loginRows(o options, st, ops, opStart, opBase, sbStart, sbBase string) ([]result, []stageTimes, error) {
	var out []result
	var stages []stageTimes
	for _, workers := range []int{1, 8} {
		name := "browser login, sequential"
		if workers > 1 {
			name = fmt.Sprintf("browser login, %d concurrent", workers)
		}
		log.Printf("%s: %s, oauth2-proxy", st, name)
		opRate, err := loginRate(o.loginFor, workers, opStart, opBase, "_oauth2_proxy")
		if err != nil {
			return nil, nil, fmt.Errorf("oauth2-proxy %s: %w", name, err)
		}
		log.Printf("%s: %s, sessionbridge", st, name)
		before, err := scrape(ops)
		if err != nil {
			return nil, nil, fmt.Errorf("sessionbridge metrics: %w", err)
		}
		wait := func() {}
		if o.profile != "" {
			wait = profileDuring(o.profile, ops, profileName(st, name), o.loginFor)
		}
		sbRate, err := loginRate(o.loginFor, workers, sbStart, sbBase, "a_session_default")
		wait()
		if err != nil {
			return nil, nil, fmt.Errorf("sessionbridge %s: %w", name, err)
		}
		out = append(out, result{store: st, row: name, peer: opRate, ours: sbRate, unit: "logins/s"})
		after, err := scrape(ops)
		if err != nil {
			return nil, nil, fmt.Errorf("sessionbridge metrics: %w", err)
		}
		if ms, ok := stagesBetween(before, after); ok {
			stages = append(stages, stageTimes{store: st, row: name, ms: ms})
		}
	}
	return out, stages, nil
}
