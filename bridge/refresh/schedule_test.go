package refresh

import (
	"testing"
	"time"
)

func TestSchedule(t *testing.T) {
	full := func(max time.Duration) time.Duration { return max }
	tests := []struct {
		name   string
		expiry time.Time
		before time.Duration
		jitter func(time.Duration) time.Duration
		want   time.Time
	}{
		{"before expiry", t0.Add(time.Hour), 5 * time.Minute, nil, t0.Add(55 * time.Minute)},
		{"never before half the lifetime", t0.Add(2 * time.Minute), 5 * time.Minute, nil, t0.Add(time.Minute)},
		{"no expiry: never", time.Time{}, 5 * time.Minute, nil, time.Time{}},
		{"already expired: now", t0.Add(-time.Minute), 5 * time.Minute, nil, t0},
		{"jitter capped at 30s", t0.Add(time.Hour), 5 * time.Minute, full, t0.Add(55*time.Minute - 30*time.Second)},
		{"jitter at most 5% of lifetime", t0.Add(2 * time.Minute), 5 * time.Minute, full, t0.Add(time.Minute - 6*time.Second)},
		{"out-of-range jitter ignored", t0.Add(time.Hour), 5 * time.Minute, func(time.Duration) time.Duration { return time.Hour }, t0.Add(55 * time.Minute)},
		{"negative jitter ignored", t0.Add(time.Hour), 5 * time.Minute, func(time.Duration) time.Duration { return -time.Hour }, t0.Add(55 * time.Minute)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Schedule(t0, tc.expiry, tc.before, tc.jitter); !got.Equal(tc.want) {
				t.Fatalf("Schedule = %v, want %v", got.Sub(t0), tc.want.Sub(t0))
			}
		})
	}
}

func TestScheduleRandomJitterStaysInBounds(t *testing.T) {
	for _, life := range []time.Duration{10 * time.Second, 2 * time.Minute, time.Hour, 24 * time.Hour} {
		nominal := Schedule(t0, t0.Add(life), 5*time.Minute, nil)
		maxJ := min(life/20, 30*time.Second)
		for range 1000 {
			got := Schedule(t0, t0.Add(life), 5*time.Minute, uniformJitter)
			if got.After(nominal) || got.Before(nominal.Add(-maxJ)) {
				t.Fatalf("life %v: Schedule = %v, want within [%v, %v]", life, got.Sub(t0), nominal.Add(-maxJ).Sub(t0), nominal.Sub(t0))
			}
			if got.Before(t0.Add(life/2 - maxJ)) {
				t.Fatalf("life %v: refresh at %v, earlier than half the lifetime minus jitter", life, got.Sub(t0))
			}
		}
	}
}

func TestRefresherScheduleNeedsRefreshToken(t *testing.T) {
	h := newHarness(t, hopt{})
	if got := h.r.Schedule(t0, t0.Add(time.Hour), false); !got.IsZero() {
		t.Fatalf("Schedule without refresh token = %v, want zero", got)
	}
	if got := h.r.Schedule(t0, t0.Add(time.Hour), true); got.IsZero() || !got.Before(t0.Add(55*time.Minute+time.Nanosecond)) {
		t.Fatalf("Schedule = %v", got)
	}
}

func TestBackoff(t *testing.T) {
	full := func(max time.Duration) time.Duration { return max }
	for failures, want := range map[int]time.Duration{
		0: time.Second, 1: 2 * time.Second, 3: 8 * time.Second, 8: 256 * time.Second,
		9: 5 * time.Minute, 30: 5 * time.Minute, 1000: 5 * time.Minute,
	} {
		if got := backoff(failures, full); got != want {
			t.Errorf("backoff(%d) ceiling = %v, want %v", failures, got, want)
		}
	}
	for failures := range 40 {
		ceil := min(5*time.Minute, time.Second<<min(failures, 20))
		for range 50 {
			if got := backoff(failures, uniformJitter); got < 0 || got >= ceil {
				t.Fatalf("backoff(%d) = %v, want in [0, %v)", failures, got, ceil)
			}
		}
	}
}

func TestBreaker(t *testing.T) {
	b := circuit{threshold: 3, base: 30 * time.Second, cooldown: 30 * time.Second, probeWait: 5 * time.Second}
	now := t0
	for i := range 2 {
		if b.failure(now) {
			t.Fatalf("opened after %d failures", i+1)
		}
	}
	b.success() // a success resets the count
	for range 2 {
		b.failure(now)
	}
	if ok, _ := b.allow(now); !ok {
		t.Fatal("closed breaker refused")
	}
	if !b.failure(now) {
		t.Fatal("did not open after 3 consecutive failures")
	}
	if ok, until := b.allow(now.Add(29 * time.Second)); ok || !until.Equal(now.Add(30*time.Second)) {
		t.Fatalf("open breaker: allow = %v, %v", ok, until)
	}
	// Half-open: exactly one probe.
	now = now.Add(30 * time.Second)
	if ok, _ := b.allow(now); !ok {
		t.Fatal("no probe after cooldown")
	}
	if ok, retry := b.allow(now); ok || !retry.Equal(now.Add(5*time.Second)) {
		t.Fatalf("second request while probing: allow = %v, %v", ok, retry)
	}
	// A failed probe reopens with the cooldown doubled, up to the cap.
	want := 30 * time.Second
	for range 6 {
		if !b.failure(now) {
			t.Fatal("failed probe did not reopen")
		}
		want = min(2*want, MaxBreakerCooldown)
		if until, open := b.openUntil(now); !open || until.Sub(now) != want {
			t.Fatalf("reopened for %v, want %v", until.Sub(now), want)
		}
		now = now.Add(want)
		if ok, _ := b.allow(now); !ok {
			t.Fatal("no probe")
		}
	}
	if !b.success() || b.isOpen() {
		t.Fatal("successful probe did not close")
	}
	if b.cooldown != 30*time.Second {
		t.Fatalf("cooldown not reset: %v", b.cooldown)
	}
}
