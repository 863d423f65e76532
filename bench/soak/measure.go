package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

func build(ctx context.Context, bin string) error {
	log.Printf("building sessionbridge")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/sessionbridge")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// report is what the soak measured.
type report struct {
	elapsed, seed        time.Duration
	refreshes            int64
	expiredAtProvider    int64
	expiredMetric        string
	worst, p99           time.Duration
	cpuPerRefresh        time.Duration
	rssRefresh, rssHWM   int64 // KiB
	rssServe             int64
	storeBytes           int64
	check                string
	refreshCPU, serveCPU time.Duration
}

func (r report) String(o options) string {
	rate := float64(r.refreshes) / r.elapsed.Seconds()
	return fmt.Sprintf(`
%d sessions on %s, %v tokens refreshed %v before expiry, %v measured (seeding took %v)
refreshes: %d (%.0f/s, expected ≈ %.0f/s)
lateness (request time − (expiry − before_expiry)): worst %v, p99 %v
refreshed after the token expired: %d at the provider; sessionbridge_expired_before_refresh_total %s
CPU per refresh (refresh daemon): %v (daemon %v, serve %v over the window)
RSS: refresh daemon %d MiB (peak %d MiB), serve %d MiB
store size: %.0f MiB
session check at this size (wrk -t1 -c32 on serve, refresh daemon running): %s
`, o.sessions, o.driver, o.ttl, o.before, r.elapsed.Round(time.Second), r.seed.Round(time.Second),
		r.refreshes, rate, float64(o.sessions)/(o.ttl-o.before).Seconds(),
		r.worst.Round(time.Millisecond), r.p99.Round(time.Millisecond),
		r.expiredAtProvider, r.expiredMetric,
		r.cpuPerRefresh.Round(time.Microsecond), r.refreshCPU.Round(time.Second), r.serveCPU.Round(time.Second),
		r.rssRefresh/1024, r.rssHWM/1024, r.rssServe/1024, float64(r.storeBytes)/(1<<20), r.check)
}

func writeConfig(o options, k keys, path, listen, opsListen, providerURL string) error {
	conc := ""
	if o.refreshWorkers > 0 {
		conc = fmt.Sprintf("  concurrency: %d\n", o.refreshWorkers)
	}
	y := fmt.Sprintf(`listen: %s
public_url: http://%s
project: default
store:
  driver: %s
  dsn: %q
secrets:
  session_keys: [%q]
  token_keys: [%q]
api_keys:
  - id: soak
    secret: %q
    scopes: [sessions.read, sessions.write, users.read, users.write]
refresh:
  enabled: false
  before_expiry: %s
  listen: %s
%sproviders:
  soak:
    type: oidc
    issuer: %s
    client_id: soak
    client_secret: soak-secret
`, listen, listen, o.driver, o.dsn, k.session, k.token, k.api, o.before, opsListen, conc, providerURL)
	return os.WriteFile(path, []byte(y), 0o600)
}

type proc struct {
	cmd  *exec.Cmd
	logf *os.File
}

func startProc(o options, bin, name string, args ...string) (*proc, error) {
	logf, err := os.Create(filepath.Join(o.dir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &proc{cmd: cmd, logf: logf}, nil
}

func (p *proc) stop() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	_ = p.cmd.Wait()
	p.logf.Close()
}

// rss returns VmRSS and VmHWM of pid in KiB.
func rss(pid int) (cur, hwm int64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && (fields[0] == "VmRSS:" || fields[0] == "VmHWM:") {
			v, _ := strconv.ParseInt(fields[1], 10, 64)
			if fields[0] == "VmRSS:" {
				cur = v
			} else {
				hwm = v
			}
		}
	}
	return cur, hwm
}

// cpu returns the user+system CPU time pid has used.
func cpu(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(fields[11], 10, 64)
	st, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

func waitHTTP(url string) error {
	for range 300 {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer", url)
}

var expiredMetric = regexp.MustCompile(`(?m)^sessionbridge_expired_before_refresh_total(\{[^}]*\})? (\S+)$`)

func metricValue(url string) string {
	resp, err := http.Get(url)
	if err != nil {
		return "unreadable: " + err.Error()
	}
	defer resp.Body.Close()
	var b strings.Builder
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if m := expiredMetric.FindStringSubmatch(sc.Text()); m != nil {
			fmt.Fprintf(&b, "%s%s ", m[1], m[2])
		}
	}
	if b.Len() == 0 {
		return "0 (no series)"
	}
	return strings.TrimSpace(b.String())
}

// storeSize is the SQLite file with its WAL, or the PostgreSQL schema's
// tables with their indexes and TOAST (0 when it cannot be read).
func storeSize(o options) int64 {
	if o.driver == "postgres" {
		return postgresSize(o.dsn)
	}
	var n int64
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if fi, err := os.Stat(o.dsn + suffix); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// sessionCheck creates a session for userID through serve's API (with the
// API key) and runs wrk against GET /v1/account/sessions/current with it.
func sessionCheck(o options, k keys, addr, userID string) string {
	req, _ := http.NewRequest("POST", "http://"+addr+"/v1/users/"+userID+"/sessions", nil)
	req.Header.Set("X-Appwrite-Key", k.api)
	req.Header.Set("X-Appwrite-Project", "default")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "failed: " + err.Error()
	}
	defer resp.Body.Close()
	var out struct {
		Secret string `json:"secret"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Secret == "" {
		return fmt.Sprintf("failed: HTTP %d creating a session", resp.StatusCode)
	}
	wrk, err := exec.Command("wrk", "-t1", "-c32", "-d"+strconv.Itoa(int(o.checkFor.Seconds()))+"s",
		"-H", "X-Appwrite-Session: "+out.Secret, "-H", "X-Appwrite-Project: default",
		"http://"+addr+"/v1/account/sessions/current").CombinedOutput()
	if err != nil {
		return "wrk failed: " + err.Error()
	}
	m := regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`).FindSubmatch(wrk)
	if m == nil || strings.Contains(string(wrk), "Non-2xx") {
		return "wrk saw failures:\n" + string(wrk)
	}
	return string(m[1]) + " req/s"
}

// measure runs both processes through the steady state.
func measure(ctx context.Context, o options, bin string, k keys, prov *provider, userID string, first time.Time) (report, error) {
	listen, ops := freeAddr(), freeAddr()
	cfgPath := filepath.Join(o.dir, "soak.yaml")
	if err := writeConfig(o, k, cfgPath, listen, ops, prov.url); err != nil {
		return report{}, err
	}
	refresher, err := startProc(o, bin, "refresh", "refresh", "--config", cfgPath)
	if err != nil {
		return report{}, err
	}
	defer refresher.stop()
	serve, err := startProc(o, bin, "serve", "serve", "--config", cfgPath)
	if err != nil {
		return report{}, err
	}
	defer serve.stop()
	if err := waitHTTP("http://" + ops + "/healthz"); err != nil {
		return report{}, err
	}
	if err := waitHTTP("http://" + listen + "/healthz"); err != nil {
		return report{}, err
	}
	// The first grants fall due seedLead after seeding began; measure
	// from then.
	if wait := time.Until(first); wait > 0 {
		log.Printf("waiting %v for the first due grants", wait.Round(time.Second))
		time.Sleep(wait)
	} else {
		log.Printf("seeding outlasted -seed-lead by %v: the first grants start late", -wait.Round(time.Second))
	}
	prov.counting.Store(true)
	start := time.Now()
	rPid, sPid := refresher.cmd.Process.Pid, serve.cmd.Process.Pid
	cpu0, scpu0 := cpu(rPid), cpu(sPid)
	var r report
	checkAt := start.Add(o.duration / 2)
	for time.Since(start) < o.duration {
		time.Sleep(5 * time.Second)
		cur, hwm := rss(rPid)
		r.rssRefresh, r.rssHWM = max(r.rssRefresh, cur), max(r.rssHWM, hwm)
		s, _ := rss(sPid)
		r.rssServe = max(r.rssServe, s)
		if r.check == "" && time.Now().After(checkAt) {
			log.Printf("session check at full size")
			r.check = sessionCheck(o, k, listen, userID)
		}
		log.Printf("%v: %d refreshes, refresh daemon RSS %d MiB", time.Since(start).Round(time.Second), prov.refreshes.Load(), cur/1024)
	}
	r.elapsed = time.Since(start)
	r.refreshes = prov.refreshes.Load()
	r.expiredAtProvider = prov.expired.Load()
	r.worst, r.p99 = prov.latenessStats()
	r.refreshCPU, r.serveCPU = cpu(rPid)-cpu0, cpu(sPid)-scpu0
	if r.refreshes > 0 {
		r.cpuPerRefresh = r.refreshCPU / time.Duration(r.refreshes)
	}
	r.expiredMetric = metricValue("http://" + ops + "/metrics")
	r.storeBytes = storeSize(o)
	return r, nil
}

// postgresSize sums the relations of the DSN's current schema.
func postgresSize(dsn string) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		log.Printf("store size: %v", err)
		return 0
	}
	defer func() { _ = conn.Close(ctx) }()
	var n int64
	err = conn.QueryRow(ctx, `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
		FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
		WHERE ns.nspname = current_schema() AND c.relkind IN ('r', 'm')`).Scan(&n)
	if err != nil {
		log.Printf("store size: %v", err)
	}
	return n
}
