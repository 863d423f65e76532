package providers

import (
	"strconv"
	"testing"
	"time"
)

// FuzzParseRetryAfter feeds Retry-After headers from token endpoints: the
// delay is never negative, and a number of seconds means exactly that
// many (saturating, never wrapping around to a short or negative delay).
func FuzzParseRetryAfter(f *testing.F) {
	now := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, h := range []string{"", "0", "120", "-1", "+5", "007", " 5", "1e3",
		"Wed, 21 Oct 2015 07:28:00 GMT", "Tue, 02 Jan 2024 03:05:05 GMT", "Monday, 02-Jan-24 03:05:05 GMT",
		"Tue Jan  2 03:05:05 2024", "9223372036", "99999999999999999999",
		"9223372037", "18446744074", // regressions: overflowed to negative and to 0.29s
	} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, h string) {
		d := ParseRetryAfter(h, now)
		if d < 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v", h, d)
		}
		if n, err := strconv.ParseInt(h, 10, 64); err == nil && n >= 0 && strconv.FormatInt(n, 10) == h {
			want := maxDuration
			if n <= int64(maxDuration/time.Second) {
				want = time.Duration(n) * time.Second
			}
			if d != want {
				t.Fatalf("ParseRetryAfter(%q) = %v, want %v", h, d, want)
			}
		}
	})
}
