package refresh

import "sync/atomic"

// capacity is what the loop claims against.
//
// slots holds one token per background token request in flight
// (Concurrency). waiting counts claimed grants that have not yet sent
// their request and given the slot back: the ones in slots, and up to
// prefetch more waiting for one. claimed counts claimed grants until their
// write is done: at most maxClaimed. freed wakes a loop that waits for
// room.
//
// prefetch is how far the loop claims ahead of free slots. When a request
// finishes, a claimed grant is already waiting for its slot; the loop
// claims again once half the prefetch has gone into slots, in one batch
// (one store transaction per batch of finished requests, not one per
// refresh). The half still waiting must outlast the claim: by Little's
// law it must hold as many grants as the slots free while a claim is
// under way, which is the request rate times the store's claim latency.
// A fixed prefetch is either too small for a slow or busy store (slots
// idle while a claim is under way: with half the Concurrency, the
// benchmark's PostgreSQL run idled a quarter of its slots when a claim
// took 15-30ms) or hoards leases that another process sharing the store
// could serve. So the loop measures, for each claim, how many slots freed
// while it was under way (released) and keeps the prefetch at twice that,
// between Concurrency/2 and 4*Concurrency, rising at once and decaying
// slowly (adaptPrefetch). A grant then waits for its slot about two
// claims' latency whatever the providers' latency, so slow providers do
// not make claimed grants outwait their lease.
type capacity struct {
	slots    chan struct{}
	waiting  atomic.Int64
	claimed  atomic.Int64
	released atomic.Int64 // grants that gave their slot back (or never took one), ever
	prefetch atomic.Int64
	freed    chan struct{}

	// Bounds of prefetch, and the smoothed count of slots freed during
	// one claim (used by the loop's goroutine only).
	minPrefetch, maxPrefetch int
	releasedPerClaim         int
}

// init sizes c for concurrency slots; the prefetch starts at its least.
func (c *capacity) init(concurrency int) {
	c.slots = make(chan struct{}, concurrency)
	c.freed = make(chan struct{}, 1)
	c.minPrefetch, c.maxPrefetch = max(1, concurrency/2), max(1, 4*concurrency)
	c.prefetch.Store(int64(c.minPrefetch))
}

// adaptPrefetch records that released grants gave their slot back while
// one claim was under way, and sets the prefetch to twice the smoothed
// count: a claim starts when half the prefetch is left waiting, which must
// last until its rows arrive. It rises at once (a slow claim starves the
// slots right away) and decays by an eighth per claim.
func (c *capacity) adaptPrefetch(released int) {
	c.releasedPerClaim = max(released, (7*c.releasedPerClaim+released)/8)
	c.prefetch.Store(int64(min(max(2*c.releasedPerClaim, c.minPrefetch), c.maxPrefetch)))
}

// claimRoom is how many grants the loop may claim now: up to prefetch
// beyond the slots, counting grants whose request is not done, and up to
// maxClaimed counting grants whose write is still under way.
func (r *Refresher) claimRoom() int {
	c := &r.capacity
	prefetch := int(c.prefetch.Load())
	return min(r.limits.Concurrency+prefetch-int(c.waiting.Load()), r.maxClaimed(prefetch)-int(c.claimed.Load()))
}

// minClaim is the smallest batch worth a claim: half the prefetch.
func (r *Refresher) minClaim() int {
	prefetch := int(r.capacity.prefetch.Load())
	return prefetch - prefetch/2
}

// maxClaimed bounds the grants a process holds at once, writes included:
// the slots, the prefetch and up to maxWritingPerSlot*Concurrency grants
// whose write is under way, so a store that cannot keep up pauses
// claiming instead of piling up finished refreshes waiting for their
// write (a rotated refresh token exists only in memory until written).
func (r *Refresher) maxClaimed(prefetch int) int {
	return r.limits.Concurrency + prefetch + maxWritingPerSlot*r.limits.Concurrency
}

// maxWritingPerSlot bounds the writes under way per slot. The writes of
// finished refreshes are committed in batches (group commit: about one
// flush per batch), so as many are under way as finish during one flush:
// the request rate times the store's commit latency. With one per slot,
// claiming paused whenever a commit took longer than a token request (on
// the loaded benchmark machine PostgreSQL's took 30-50ms against the fake
// provider's 20ms, and the slots idled half the time); four cover commits
// up to four times a request's latency.
const maxWritingPerSlot = 4

// capacityFreed wakes a saturated loop once there is room for a batch (a
// grant gave its slot back, or finished). Waking it for less would only
// make it look and wait again, on the CPU the next request needs.
func (r *Refresher) capacityFreed() {
	if r.claimRoom() < r.minClaim() {
		return
	}
	select {
	case r.capacity.freed <- struct{}{}:
	default:
	}
}
