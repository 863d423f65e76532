package refresh

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sessionbridge/sessionbridge/bridge/seal"
	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/bridge/store/memstore"
)

// Benchmark knobs, e.g.
//
//	go test -run XXX -bench 'Throughput|Lateness' ./bridge/refresh/ -refresh.latency 50ms
var (
	benchGrants      = flag.Int("refresh.grants", 5000, "grants per benchmark run")
	benchLatency     = flag.Duration("refresh.latency", 20*time.Millisecond, "latency of the fake token endpoint")
	benchConcurrency = flag.Int("refresh.conc", 64, "refresher Concurrency")
	benchLoad        = flag.Float64("refresh.load", 0.8, "BenchmarkLateness: rate at which grants fall due, as a fraction of the Little's-law bound")
	benchStores      = flag.String("refresh.stores", "sqlite,postgres", "store backends to benchmark: sqlite, postgres (skipped when unreachable), mem (the tests' in-memory fake, whose claims scan every row)")
)

// loadResult accumulates the figures of runLoad.
type loadResult struct {
	n, runs            int
	elapsed, cpu       time.Duration
	lateness           []time.Duration
	maxActive          int
	busySlots, latency float64 // sums over runs of averages
	claims, claimed    int64
	// steadyN requests were sent in steadyElapsed: the run without its
	// first and last Concurrency requests (see steadyWindow).
	steadyN       int
	steadyElapsed time.Duration
}

// BenchmarkThroughput stores -refresh.grants grants that are all due and
// runs the refresher against a fake token endpoint that answers after
// -refresh.latency, with -refresh.conc requests in flight. Little's law
// bounds the rate at conc/latency (64/20ms = 3200/s); %of_bound is how
// close the refresher and its store come. cpu-µs/refresh is the process's
// user+system CPU time (fake provider and benchmark included) per refresh;
// maxrss-MB the process's peak RSS so far (run one store at a time for a
// clean figure).
func BenchmarkThroughput(b *testing.B) {
	for _, kind := range strings.Split(*benchStores, ",") {
		b.Run(kind, func(b *testing.B) {
			var res loadResult
			for range b.N {
				runLoad(b, kind, 0, &res)
			}
			res.report(b)
		})
	}
}

// BenchmarkLateness spreads the grants' due times evenly at -refresh.load
// times the bound's rate and reports how late after its due time each
// token request was sent (worst and 99th percentile): the scheduler's
// sleep, wake and claim latency under a steady load.
func BenchmarkLateness(b *testing.B) {
	for _, kind := range strings.Split(*benchStores, ",") {
		b.Run(kind, func(b *testing.B) {
			var res loadResult
			rate := *benchLoad * float64(*benchConcurrency) / benchLatency.Seconds()
			for range b.N {
				runLoad(b, kind, time.Duration(float64(time.Second)/rate), &res)
			}
			res.report(b)
			slices.Sort(res.lateness)
			b.ReportMetric(ms(res.lateness[len(res.lateness)-1]), "worst-late-ms")
			b.ReportMetric(ms(res.lateness[len(res.lateness)*99/100]), "p99-late-ms")
		})
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// runLoad seeds the grants, runs the refresher until every one was
// refreshed once and adds the figures to res. With spacing 0 all grants
// are already due (a backlog); otherwise grant i falls due at
// start+i*spacing.
func runLoad(b *testing.B, kind string, spacing time.Duration, res *loadResult) {
	b.StopTimer()
	grants := *benchGrants
	h := newHarness(b, hopt{kind: kind, real: true, mod: func(o *Options) {
		o.Limits.Concurrency = *benchConcurrency
		// As in production, where the level is info: the harness's
		// debug log would format a line per refresh.
		o.Logger = slog.New(slog.DiscardHandler)
	}})
	h.prov.latency = *benchLatency
	cs := &countingStore{Store: h.st}
	h.r.store = cs
	// Seeding must finish before the first grant falls due.
	start := time.Now().Add(time.Second + time.Duration(grants)*50*time.Microsecond)
	due := make(map[string]time.Time, grants)
	for i := range grants {
		at := time.Now().Add(-time.Duration(grants-i) * time.Microsecond)
		if spacing > 0 {
			at = start.Add(time.Duration(i) * spacing)
		}
		due[fmt.Sprintf("sub-g%06d", i)] = at
	}
	h.seed(grants, func(i int) (string, time.Time) { id := fmt.Sprintf("g%06d", i); return id, due["sub-"+id] })
	if spacing == 0 {
		start = time.Now()
	} else if wait := time.Until(start); wait < 100*time.Millisecond {
		b.Fatalf("seeding %d grants took too long (%v left)", grants, wait)
	}
	var mu sync.Mutex
	lateness := make([]time.Duration, 0, grants)
	h.prov.onCall = func(sub string) {
		late := time.Since(due[sub])
		mu.Lock()
		lateness = append(lateness, late)
		mu.Unlock()
	}
	stop := h.run(h.r)
	if spacing > 0 {
		time.Sleep(time.Until(start)) // the refresher sleeps too until then
	}
	cpu0 := cpuTime()
	b.StartTimer()
	t0 := time.Now()
	deadline := t0.Add(5 * time.Minute)
	var busy, samples int
	for testutil.ToFloat64(h.r.metrics.attempts.WithLabelValues("fake", resultSuccess)) < float64(grants) {
		if time.Now().After(deadline) {
			b.Fatalf("refreshed %v of %d grants in 5 minutes", h.attempts(resultSuccess), grants)
		}
		time.Sleep(200 * time.Microsecond)
		busy += len(h.r.capacity.slots)
		samples++
	}
	elapsed := time.Since(t0)
	b.StopTimer()
	cpu := cpuTime() - cpu0
	stop()
	calls, replays := h.prov.stats()
	if calls != grants || replays != 0 || h.attempts(resultSuccess) != float64(grants) {
		b.Fatalf("calls=%d replays=%d successes=%v, want %d, 0, %d", calls, replays, h.attempts(resultSuccess), grants, grants)
	}
	maxActive := h.prov.peakActive()
	if maxActive > *benchConcurrency {
		b.Fatalf("%d requests in flight at once, Concurrency is %d", maxActive, *benchConcurrency)
	}
	res.n += grants
	res.runs++
	res.elapsed += elapsed
	res.cpu += cpu
	res.maxActive = max(res.maxActive, maxActive)
	res.busySlots += float64(busy) / float64(max(samples, 1))
	res.latency += ms(h.prov.meanLatency())
	n, d := steadyWindow(h.prov.sendTimes(), *benchConcurrency)
	res.steadyN += n
	res.steadyElapsed += d
	res.claims += cs.claims.Load()
	res.claimed += cs.claimed.Load()
	mu.Lock()
	res.lateness = append(res.lateness, lateness...)
	mu.Unlock()
}

func (res *loadResult) report(b *testing.B) {
	rate := float64(res.n) / res.elapsed.Seconds()
	b.ReportMetric(rate, "refreshes/s")
	bound := float64(*benchConcurrency) / benchLatency.Seconds()
	b.ReportMetric(100*rate/bound, "%of_bound")
	if res.steadyElapsed > 0 {
		b.ReportMetric(100*float64(res.steadyN)/res.steadyElapsed.Seconds()/bound, "%of_bound_steady")
	}
	b.ReportMetric(float64(res.cpu.Microseconds())/float64(res.n), "cpu-µs/refresh")
	b.ReportMetric(float64(maxRSS())/(1<<20), "maxrss-MB")
	b.ReportMetric(float64(res.maxActive), "max-in-flight")
	b.ReportMetric(res.busySlots/float64(res.runs), "avg-busy-slots")
	b.ReportMetric(res.latency/float64(res.runs), "provider-ms")
	b.ReportMetric(float64(res.claimed)/float64(max(res.claims, 1)), "grants/claim")
}

// steadyWindow is the steady state of a run whose requests were sent at
// times: the requests after the first conc and up to the last conc, and
// the time they took. Little's law bounds a steady state; a whole run
// also holds the ramp-up (the first claim, with every slot empty) and the
// drain (the last requests, with fewer than conc left to send), which
// idle slots for about one claim and half a request latency whatever the
// refresher does. Zero when the run is too short to have one.
func steadyWindow(times []time.Time, conc int) (int, time.Duration) {
	if len(times) < 4*conc {
		return 0, 0
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	first, last := conc, len(times)-conc
	return last - first, times[last].Sub(times[first])
}

// countingStore counts the refresher's claims.
type countingStore struct {
	store.Store
	claims, claimed atomic.Int64
}

func (c *countingStore) ClaimDueGrants(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.Session, error) {
	rows, err := c.Store.ClaimDueGrants(ctx, owner, now, lease, limit)
	c.claims.Add(1)
	c.claimed.Add(int64(len(rows)))
	return rows, err
}

// seed stores n grants of the fake provider: grant i has the ID and due
// time at(i) returns and an access token expiring an hour after that. The
// SQL backends are loaded in bulk (one transaction, or COPY).
func (h *harness) seed(n int, at func(i int) (string, time.Time)) {
	h.t.Helper()
	if _, mem := h.st.(*memstore.Store); mem {
		for i := range n {
			id, due := at(i)
			h.addGrant(id, due.Add(time.Hour), due)
		}
		return
	}
	now := h.now()
	bulkLoad(h.t, h.st, func(yield func(bulkRow) bool) {
		for i := range n {
			id, due := at(i)
			rts, err := h.keys.Seal(h.prov.issue("sub-"+id), seal.AAD(id, "refresh"))
			if err != nil {
				h.t.Fatal(err)
			}
			if !yield(bulkRow{id: id, userID: h.userID, refreshSealed: rts, expire: now.Add(365 * 24 * time.Hour),
				tokenExpiry: due.Add(time.Hour), refreshAt: due, createdAt: now}) {
				return
			}
		}
	})
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// maxRSS is the process's peak resident set size in bytes (Linux reports
// ru_maxrss in KiB).
func maxRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return int64(ru.Maxrss) * 1024
}
