package sqlite

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/bridge/store/internal/sessionrow"
)

// fill inserts n sessions in one transaction (test setup only); the
// first due of them are due at t0, the rest a year later.
func fill(b *testing.B, s *Store, n, due int, t0 time.Time) {
	b.Helper()
	u, err := s.UpsertIdentity(b.Context(), store.IdentityInput{Provider: "bench", ProviderUID: "1"}, t0)
	if err != nil {
		b.Fatal(err)
	}
	tx, err := s.db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	stmt, err := tx.Prepare("INSERT INTO sessions (" + sessionCols + ") VALUES (?" + repeat(", ?", 31) + ")")
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		sess := store.Session{
			ID: fmt.Sprintf("s%07d", i), UserID: u.ID, CreatedAt: t0, UpdatedAt: t0, Expire: t0.Add(365 * 24 * time.Hour),
			SecretHash: make([]byte, 32), Provider: "bench", AccessTokenSealed: make([]byte, 120),
			RefreshTokenSealed: make([]byte, 80), AccessTokenExpiry: t0.Add(time.Hour),
			RefreshAt: t0.Add(365*24*time.Hour + time.Duration(i)*time.Second), Version: 1,
		}
		if i < due {
			sess.RefreshAt = t0
		}
		if _, err := stmt.Exec(sessionrow.Args(&sess, micros)...); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}

func BenchmarkGetSession(b *testing.B) {
	s := openTemp(b)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	fill(b, s, 10_000, 0, t0)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := s.GetSession(b.Context(), fmt.Sprintf("s%07d", i%10_000)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClaimDueGrants claims the same 10 due grants per iteration out
// of tables of growing size: the cost must not follow the table size.
// Each iteration runs at a later clock, after the previous leases ran out.
func BenchmarkClaimDueGrants(b *testing.B) {
	for _, rows := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			s := openTemp(b)
			t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			const due, lease = 10, time.Second
			fill(b, s, rows, due, t0)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				now := t0.Add(time.Duration(i) * 2 * lease)
				got, err := s.ClaimDueGrants(b.Context(), "bench", now, lease, 50)
				if err != nil {
					b.Fatal(err)
				}
				if len(got) != due {
					b.Fatalf("claimed %d, want %d", len(got), due)
				}
			}
		})
	}
}

func BenchmarkNextRefreshAt(b *testing.B) {
	s := openTemp(b)
	fill(b, s, 100_000, 0, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b.ResetTimer()
	for b.Loop() {
		if _, ok, err := s.NextRefreshAt(b.Context()); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkCompareAndSwapSession is the refresher's one write per refresh.
func BenchmarkCompareAndSwapSession(b *testing.B) {
	s := openTemp(b)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const rows = 10_000
	fill(b, s, rows, 0, t0)
	cur := make([]store.Session, rows)
	for i := range cur {
		var err error
		if cur[i], err = s.GetSession(b.Context(), fmt.Sprintf("s%07d", i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		sess := &cur[i%rows]
		sess.RefreshAt = sess.RefreshAt.Add(time.Hour)
		sess.RefreshTokenSealed[0]++
		if err := s.CompareAndSwapSession(b.Context(), sess); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompareAndSwapSessionParallel writes from 32 goroutines per
// CPU, like a refresher with many requests finishing at once.
func BenchmarkCompareAndSwapSessionParallel(b *testing.B) {
	s := openTemp(b)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const rows = 10_000
	fill(b, s, rows, 0, t0)
	var next atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprintf("s%07d", next.Add(1)%rows)
			for {
				sess, err := s.GetSession(b.Context(), id)
				if err != nil {
					b.Error(err)
					return
				}
				sess.RefreshAt = sess.RefreshAt.Add(time.Hour)
				err = s.CompareAndSwapSession(b.Context(), &sess)
				if err == nil {
					break
				}
				if !errors.Is(err, store.ErrConflict) {
					b.Error(err)
					return
				}
			}
		}
	})
}
