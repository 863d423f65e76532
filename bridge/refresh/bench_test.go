package refresh

import (
	"flag"
	"fmt"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Benchmark knobs, e.g.
//
//	go test -run XXX -bench 'Throughput|Lateness' ./bridge/refresh/ -refresh.latency 50ms
var (
	benchGrants  = flag.Int("refresh.grants", 5000, "grants per benchmark run")
	benchLatency = flag.Duration("refresh.latency", 20*time.Millisecond, "latency of the fake token endpoint")
	benchConc    = flag.Int("refresh.conc", 64, "refresher Concurrency")
	benchLoad    = flag.Float64("refresh.load", 0.8, "BenchmarkLateness: rate at which grants fall due, as a fraction of the Little's-law bound")
	benchStores  = flag.String("refresh.stores", "mem,sqlite,postgres", "store backends to benchmark (postgres is skipped when unreachable)")
)

// loadResult accumulates the figures of runLoad.
type loadResult struct {
	n                int
	elapsed, cpu     time.Duration
	lateness         []time.Duration
	maxActive, calls int
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
			rate := *benchLoad * float64(*benchConc) / benchLatency.Seconds()
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
	h := newHarness(b, hopt{kind: kind, real: true, mod: func(o *Options) { o.Concurrency = *benchConc }})
	h.prov.latency = *benchLatency
	// Seeding must finish before the first grant falls due.
	start := time.Now().Add(time.Second + time.Duration(grants)*200*time.Microsecond)
	due := make(map[string]time.Time, grants)
	for i := range grants {
		id := fmt.Sprintf("g%06d", i)
		at := time.Now().Add(-time.Duration(grants-i) * time.Microsecond)
		if spacing > 0 {
			at = start.Add(time.Duration(i) * spacing)
		}
		due["sub-"+id] = at
		h.addGrant(id, at.Add(time.Hour), at)
	}
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
	for testutil.ToFloat64(h.r.m.attempts.WithLabelValues("fake", resultSuccess)) < float64(grants) {
		if time.Now().After(deadline) {
			b.Fatalf("refreshed %v of %d grants in 5 minutes", h.attempts(resultSuccess), grants)
		}
		time.Sleep(200 * time.Microsecond)
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
	if maxActive > *benchConc {
		b.Fatalf("%d requests in flight at once, Concurrency is %d", maxActive, *benchConc)
	}
	res.n += grants
	res.elapsed += elapsed
	res.cpu += cpu
	res.calls += calls
	res.maxActive = max(res.maxActive, maxActive)
	mu.Lock()
	res.lateness = append(res.lateness, lateness...)
	mu.Unlock()
}

func (res *loadResult) report(b *testing.B) {
	rate := float64(res.n) / res.elapsed.Seconds()
	b.ReportMetric(rate, "refreshes/s")
	b.ReportMetric(100*rate/(float64(*benchConc)/benchLatency.Seconds()), "%of_bound")
	b.ReportMetric(float64(res.cpu.Microseconds())/float64(res.n), "cpu-µs/refresh")
	b.ReportMetric(float64(maxRSS())/(1<<20), "maxrss-MB")
	b.ReportMetric(float64(res.maxActive), "max-in-flight")
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
