package ratelimit

import (
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestFixedWindowPerKey(t *testing.T) {
	c := &clock{t: time.Unix(1_800_000_000, 0).Add(10 * time.Second)} // 10s into a 60s window
	l := New(3, time.Minute, 0, c.now)
	wantReset := time.Unix(1_800_000_000, 0).Add(time.Minute)
	for i := 1; i <= 3; i++ {
		d := l.Allow("a")
		if !d.Allowed || d.Remaining != 3-i || d.Limit != 3 || !d.Reset.Equal(wantReset) {
			t.Fatalf("hit %d: %+v", i, d)
		}
	}
	if d := l.Allow("a"); d.Allowed || d.Remaining != 0 || !d.Reset.Equal(wantReset) {
		t.Fatalf("4th hit: %+v", d)
	}
	if d := l.Allow("b"); !d.Allowed || d.Remaining != 2 {
		t.Fatalf("another key is limited: %+v", d)
	}
	c.add(49 * time.Second) // 59s: still the same window
	if d := l.Allow("a"); d.Allowed {
		t.Fatalf("allowed before the reset: %+v", d)
	}
	c.add(time.Second) // the next window
	d := l.Allow("a")
	if !d.Allowed || d.Remaining != 2 || !d.Reset.Equal(wantReset.Add(time.Minute)) {
		t.Fatalf("after reset: %+v", d)
	}
	if l.Len() != 1 {
		t.Fatalf("old window's keys kept: %d", l.Len())
	}
}

func TestBoundedKeys(t *testing.T) {
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	l := New(1, time.Hour, 100, c.now)
	for i := 0; i < 10_000; i++ {
		if d := l.Allow("ip" + strconv.Itoa(i)); !d.Allowed {
			t.Fatalf("new key %d refused", i)
		}
		if l.Len() > 100 {
			t.Fatalf("tracks %d keys, bound is 100", l.Len())
		}
	}
}

func TestConcurrentHitsNeverExceedLimit(t *testing.T) {
	l := New(50, time.Hour, 0, func() time.Time { return time.Unix(1_800_000_000, 0) })
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				if l.Allow("k").Allowed {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if allowed != 50 {
		t.Fatalf("allowed %d hits, limit 50", allowed)
	}
}

func TestDegenerateSettings(t *testing.T) {
	l := New(0, 0, -1, nil)
	if l.Limit() != 1 || l.Window() != time.Hour {
		t.Fatalf("limit %d window %v", l.Limit(), l.Window())
	}
	if !l.Allow("").Allowed || l.Allow("").Allowed {
		t.Fatal("limit of one not enforced")
	}
}

// TestFirstRefusalOncePerWindow: the first refused hit of a key in a
// window is marked (callers log it), the following ones are not.
func TestFirstRefusalOncePerWindow(t *testing.T) {
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	l := New(2, time.Minute, 0, c.now)
	var first []bool
	for range 5 {
		d := l.Allow("a")
		first = append(first, d.FirstRefusal)
	}
	if want := []bool{false, false, true, false, false}; !slices.Equal(first, want) {
		t.Fatalf("FirstRefusal per hit = %v, want %v", first, want)
	}
	c.add(time.Minute)
	l.Allow("a")
	l.Allow("a")
	if d := l.Allow("a"); !d.FirstRefusal || d.Allowed {
		t.Fatalf("next window's first refusal: %+v", d)
	}
}
