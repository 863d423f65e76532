package refresh

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// BenchmarkThroughput refreshes 2000 due grants against a provider that
// takes 20ms per request, with 64 refreshes in flight. Little's law bounds
// the rate at 64/20ms = 3200 refreshes/s; the gap to it is the refresher's
// and the store's overhead.
func BenchmarkThroughput(b *testing.B) {
	const (
		grants  = 2000
		conc    = 64
		latency = 20 * time.Millisecond
	)
	for _, kind := range storeKinds {
		b.Run(kind, func(b *testing.B) {
			var total time.Duration
			for range b.N {
				b.StopTimer()
				h := newHarness(b, hopt{kind: kind, real: true, mod: func(o *Options) { o.Concurrency = conc }})
				h.prov.latency = latency
				now := time.Now()
				for i := range grants {
					h.addGrant(fmt.Sprintf("g%05d", i), now.Add(time.Hour), now.Add(-time.Duration(i)*time.Millisecond))
				}
				b.StartTimer()
				start := time.Now()
				stop := h.run(h.r)
				eventually(b, "all grants refreshed", func() bool {
					return testutil.ToFloat64(h.r.m.attempts.WithLabelValues("fake", resultSuccess)) == grants
				})
				total += time.Since(start)
				b.StopTimer()
				stop()
				if calls, replays := h.prov.stats(); calls != grants || replays != 0 {
					b.Fatalf("calls=%d replays=%d", calls, replays)
				}
			}
			rate := float64(grants*b.N) / total.Seconds()
			b.ReportMetric(rate, "refreshes/s")
			b.ReportMetric(100*rate/(conc/latency.Seconds()), "%of_bound")
		})
	}
}

// BenchmarkTick measures one scheduler tick's store work (count due,
// claim, next wake) with 0-10 grants due among 10k and 100k stored
// sessions on SQLite: it must not grow with the table.
func BenchmarkTick(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		h := newHarness(b, hopt{kind: "sqlite", real: true})
		ctx := context.Background()
		base := time.Now().Add(time.Hour)
		b.Logf("seeding %d sessions...", n)
		seedStart := time.Now()
		for i := range n {
			s := &store.Session{
				ID: fmt.Sprintf("s%07d", i), UserID: h.userID, Expire: base.Add(24 * time.Hour), Provider: "fake",
				AccessTokenSealed: []byte("sealed-access"), RefreshTokenSealed: []byte("sealed-refresh"),
				AccessTokenExpiry: base.Add(time.Hour), RefreshAt: base.Add(time.Duration(i) * time.Millisecond),
			}
			if err := h.st.CreateSession(ctx, s); err != nil {
				b.Fatal(err)
			}
		}
		b.Logf("seeded %d sessions in %v", n, time.Since(seedStart))
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			r := h.r
			cursor := base
			claimed := 0
			b.ResetTimer()
			for i := range b.N {
				cursor = cursor.Add(time.Duration(i%11) * time.Millisecond) // 0-10 newly due
				due, err := r.countDue(ctx, cursor)
				if err != nil {
					b.Fatal(err)
				}
				if due > 0 {
					if _, err := r.countDue(ctx, cursor.Add(-overdueAfter)); err != nil {
						b.Fatal(err)
					}
					rows, err := r.claim(ctx, cursor, r.conc)
					if err != nil {
						b.Fatal(err)
					}
					claimed += len(rows)
				}
				if _, _, err := r.store.NextRefreshAt(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(claimed)/float64(b.N), "claimed/tick")
		})
		// An idle wake (nothing due): one COUNT on due rows and one MIN.
		b.Run(fmt.Sprintf("sessions=%d/idle", n), func(b *testing.B) {
			r := h.r
			for range b.N {
				if due, err := r.countDue(ctx, base.Add(-time.Hour)); err != nil || due != 0 {
					b.Fatal(due, err)
				}
				if _, _, err := r.store.NextRefreshAt(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
