//go:build load

package janitor

import (
	"context"
	"testing"
	"time"
)

// TestLoadJanitor (go test -tags load -run Load -v ./bridge/janitor/):
// 10,000 abandoned logins and 10,000 expired sessions are cleaned to 0
// rows in bounded batches on SQLite and PostgreSQL; it reports rows per
// second and the longest single transaction. Not run in CI (build tag).
func TestLoadJanitor(t *testing.T) {
	const n = 10000
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			seedStart := time.Now()
			seed(t, st, t0, n, 0, n, 0)
			t.Logf("%s: seeded %d flows and %d sessions in %v", name, n, n, time.Since(seedStart).Round(time.Millisecond))
			j, _, _ := newJanitor(t, st, "load", func() time.Time { return t0 }, DefaultBatch)
			start := time.Now()
			res, err := j.RunOnce(context.Background())
			took := time.Since(start)
			if err != nil || res.Flows != n || res.Sessions != n {
				t.Fatalf("run = %+v, %v", res, err)
			}
			if left, err := st.DeleteExpiredFlows(context.Background(), t0, 1); err != nil || left != 0 {
				t.Fatalf("flows left: %d %v", left, err)
			}
			if left, err := st.DeleteExpiredSessions(context.Background(), t0, 1); err != nil || len(left) != 0 {
				t.Fatalf("sessions left: %d %v", len(left), err)
			}
			t.Logf("%s: deleted %d rows in %v (%.0f rows/s), %d batches of <= %d, longest transaction %v",
				name, res.Flows+res.Sessions, took.Round(time.Millisecond), float64(res.Flows+res.Sessions)/took.Seconds(),
				res.Batches, DefaultBatch, res.Longest.Round(time.Microsecond))
		})
	}
}
