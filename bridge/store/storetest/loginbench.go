package storetest

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// BenchLoginWrites times the store calls of one browser login on s: the
// flow recorded at the start, consumed at the callback, and the user with
// the session, the same user each time (as in the side-by-side bench)
// under the default cap of 10 sessions, from b's parallel goroutines. It
// reports each call's mean time. Backends run it from a benchmark of
// their own.
func BenchLoginWrites(b *testing.B, s store.Store) {
	now := time.Now()
	ident := store.IdentityInput{Provider: "dev", ProviderUID: "u1", Email: "a@example.com", EmailVerified: true, Name: "A"}
	var create, consume, login atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := store.NewID()
			t0 := time.Now()
			if err := s.CreateFlow(b.Context(), store.LoginFlow{ID: id, Provider: "dev", Mode: "session", Success: "https://x/", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
				b.Error(err)
				return
			}
			t1 := time.Now()
			if _, err := s.ConsumeFlow(b.Context(), id, now); err != nil {
				b.Error(err)
				return
			}
			t2 := time.Now()
			sess := store.Session{ID: store.NewID(), Provider: "dev", ProviderUID: "u1", CreatedAt: now, UpdatedAt: now,
				Expire: now.Add(time.Hour), SecretHash: make([]byte, 32), AccessTokenSealed: make([]byte, 120), RefreshedAt: now}
			if _, _, err := s.CreateLoginSession(b.Context(), ident, &sess, 10, now); err != nil {
				b.Error(err)
				return
			}
			t3 := time.Now()
			create.Add(int64(t1.Sub(t0)))
			consume.Add(int64(t2.Sub(t1)))
			login.Add(int64(t3.Sub(t2)))
		}
	})
	n := float64(b.N)
	b.ReportMetric(float64(create.Load())/1e3/n, "create-µs/op")
	b.ReportMetric(float64(consume.Load())/1e3/n, "consume-µs/op")
	b.ReportMetric(float64(login.Load())/1e3/n, "login-µs/op")
}
