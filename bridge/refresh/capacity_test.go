package refresh

import "testing"

// The prefetch follows twice the slots freed during a claim: at once when
// claims get slower, an eighth per claim when they get faster, within
// [Concurrency/2, 4*Concurrency].
func TestPrefetchFollowsClaimLatency(t *testing.T) {
	var c capacity
	c.init(64)
	if got := c.prefetch.Load(); got != 32 {
		t.Fatalf("initial prefetch = %d, want Concurrency/2", got)
	}
	for _, step := range []struct {
		released int
		want     int64
	}{
		{0, 32},     // a claim while nothing ran: the least
		{40, 80},    // 40 slots freed during the claim: twice that, at once
		{0, 70},     // a fast claim: 7/8 of 40 = 35, twice that
		{1000, 256}, // a very slow claim: capped at 4*Concurrency
	} {
		c.adaptPrefetch(step.released)
		if got := c.prefetch.Load(); got != step.want {
			t.Fatalf("after a claim that saw %d slots freed: prefetch = %d, want %d", step.released, got, step.want)
		}
	}
	for range 100 {
		c.adaptPrefetch(0)
	}
	if got := c.prefetch.Load(); got != 32 {
		t.Fatalf("after fast claims: prefetch = %d, want back at Concurrency/2", got)
	}
}
