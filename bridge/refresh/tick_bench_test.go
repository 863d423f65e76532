package refresh

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/seal"
	"github.com/sessionbridge/sessionbridge/providers"
)

var benchTickSizes = flag.String("refresh.ticksizes", "10000,100000,1000000", "BenchmarkTick: stored sessions")

// BenchmarkTick measures one scheduler tick as the loop runs it: claim the
// grants that fell due since the last tick (5 per tick), refresh them
// against a provider that answers at once, write them back, and read the
// next wake-up time. The stored sessions (-refresh.ticksizes) fall due
// 1ms apart and come due again after a token lifetime of one pass over
// them, so every tick finds the same amount of work. Its cost must not
// grow with the table. "counted" also samples the due/overdue gauges,
// which the loop does at most once a second.
func BenchmarkTick(b *testing.B) {
	for _, kind := range strings.Split(*benchStores, ",") {
		if kind == "mem" {
			continue // the fake scans every row by design
		}
		for _, size := range strings.Split(*benchTickSizes, ",") {
			n, err := strconv.Atoi(size)
			if err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("%s/sessions=%d", kind, n), func(b *testing.B) { benchTick(b, kind, n) })
		}
	}
}

func benchTick(b *testing.B, kind string, n int) {
	const spacing, perTick = time.Millisecond, 5
	life := time.Duration(n) * spacing
	var h *harness
	h = newHarness(b, hopt{kind: kind, mod: func(o *Options) {
		o.BeforeExpiry = time.Nanosecond // refresh at expiry minus jitter
		o.Providers = providers.Registry{"fake": &funcProvider{fakeProvider: newFakeProvider("fake", nil), fn: func(int) (*providers.Token, error) {
			return &providers.Token{AccessToken: "at", Expiry: h.clk.Now().Add(life)}, nil
		}}}
	}})
	base := t0.Add(time.Second)
	seedStart := time.Now()
	bulkLoad(b, h.st, func(yield func(bulkRow) bool) {
		for i := range n {
			id := fmt.Sprintf("t%07d", i)
			rts, err := h.keys.Seal("rt-"+id, seal.AAD(id, "refresh"))
			if err != nil {
				b.Fatal(err)
			}
			due := base.Add(time.Duration(i) * spacing)
			if !yield(bulkRow{id: id, userID: h.userID, refreshSealed: rts, expire: t0.Add(365 * 24 * time.Hour),
				tokenExpiry: due.Add(time.Minute), refreshAt: due, createdAt: t0}) {
				return
			}
		}
	})
	b.Logf("seeded %d sessions in %v", n, time.Since(seedStart))
	ctx := context.Background()
	cursor := base
	for _, counted := range []bool{false, true} {
		name := "tick"
		if counted {
			name = "counted"
		}
		b.Run(name, func(b *testing.B) {
			claimed := 0
			for b.Loop() {
				cursor = cursor.Add(perTick * spacing)
				h.clk.Set(cursor)
				if counted {
					h.r.countedAt = time.Time{}
				}
				_, _, c := h.r.tick(ctx, nil, false)
				h.r.wg.Wait()
				claimed += c
			}
			b.ReportMetric(float64(claimed)/float64(b.N), "grants/tick")
		})
	}
	if f := h.attempts(resultSuccess); f == 0 {
		b.Fatal("no grant was refreshed")
	}
}
