package store

import (
	"regexp"
	"testing"
	"time"
)

func TestNewID(t *testing.T) {
	shape := regexp.MustCompile(`^[0-9a-f]{20}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := NewID()
		if !shape.MatchString(id) {
			t.Fatalf("NewID() = %q, want 20 lowercase hex characters", id)
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
	}
}

func TestNormalize(t *testing.T) {
	if got := Normalize(time.Time{}); !got.IsZero() {
		t.Fatalf("Normalize(zero) = %v", got)
	}
	in := time.Date(2026, 5, 6, 7, 8, 9, 123456789, time.FixedZone("X", -3*3600))
	got := Normalize(in)
	want := time.Date(2026, 5, 6, 10, 8, 9, 123456000, time.UTC)
	if !got.Equal(want) || got.Location() != time.UTC || got != want {
		t.Fatalf("Normalize(%v) = %v, want %v (truncated, UTC)", in, got, want)
	}
	// A monotonic reading is dropped, so == comparisons work.
	now := time.Now()
	if Normalize(now) != Normalize(now.Round(0)) {
		t.Fatal("Normalize kept the monotonic clock reading")
	}
}
