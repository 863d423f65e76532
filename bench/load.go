package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// doneMark is the path both peers redirect to after a login; the client
// stops there (it is the app's page, not part of the login).
const doneMark = "/bench-done"

var wrkRate = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)

// wrk runs wrk -t1 -c32 against url with the given headers and returns
// requests per second; it fails when any answer was not 2xx.
func wrk(ctx context.Context, d time.Duration, target string, headers map[string]string) (float64, error) {
	args := []string{"-t1", "-c32", "-d" + strconv.Itoa(int(d.Seconds())) + "s"}
	for k, v := range headers {
		args = append(args, "-H", k+": "+v)
	}
	args = append(args, target)
	out, err := exec.CommandContext(ctx, "wrk", args...).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("wrk: %w: %s", err, out)
	}
	if strings.Contains(string(out), "Non-2xx or 3xx responses") {
		return 0, fmt.Errorf("wrk saw failed answers from %s:\n%s", target, out)
	}
	m := wrkRate.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("wrk output without a rate:\n%s", out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

// sharedTransport keeps connections between logins, as a browser does.
var sharedTransport = &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 0, IdleConnTimeout: time.Minute}

// browserLogin runs one whole login in a fresh cookie jar: GET start, then
// every redirect (the peer's own hops, the provider's authorize, the
// callback) until the peer sends the browser to doneMark. It returns the
// jar, which then holds the session cookie.
func browserLogin(start string) (*cookiejar.Jar, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: sharedTransport, Timeout: 30 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Path == doneMark {
				return http.ErrUseLastResponse
			}
			navigate(req)
			return nil
		}}
	req, _ := http.NewRequest("GET", start, nil)
	navigate(req)
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	loc, _ := resp.Location()
	if resp.StatusCode < 300 || resp.StatusCode > 303 || loc == nil || loc.Path != doneMark {
		return nil, fmt.Errorf("login ended with HTTP %d (Location %v), not at %s", resp.StatusCode, loc, doneMark)
	}
	return jar, nil
}

// navigate adds the Fetch Metadata a browser sends with a top-level
// navigation (both peers get the same requests).
func navigate(req *http.Request) {
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	req.Header.Set("Sec-Fetch-Dest", "document")
	req.Header.Set("Sec-Fetch-Site", "none")
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36")
}

// cookieOf returns the named cookie the jar holds for base.
func cookieOf(jar *cookiejar.Jar, base, name string) string {
	u, _ := url.Parse(base)
	for _, c := range jar.Cookies(u) {
		if c.Name == name || c.Name == name+"_0" { // oauth2-proxy splits big cookies
			return c.Value
		}
	}
	return ""
}

// loginRate runs logins with workers concurrent browsers for d and returns
// completed logins per second.
func loginRate(d time.Duration, workers int, start, base, cookie string) (float64, error) {
	var done atomic.Int64
	var firstErr error
	var once sync.Once
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	began := time.Now()
	for range workers {
		wg.Go(func() {
			for time.Now().Before(stop) {
				jar, err := browserLogin(start)
				if err == nil && cookieOf(jar, base, cookie) == "" {
					err = fmt.Errorf("login finished without the %s cookie", cookie)
				}
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return 0, firstErr
	}
	return float64(done.Load()) / time.Since(began).Seconds(), nil
}
