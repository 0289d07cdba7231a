package terminal

import "time"

// bucket is a token bucket owned by one goroutine (no locking).
type bucket struct {
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
}

func newBucket(rate, burst float64, now time.Time) *bucket {
	return &bucket{rate: rate, burst: burst, tokens: burst, last: now}
}

// take removes n tokens and returns how long the caller must wait before
// acting (0 when tokens were available). Debt is allowed, so a request
// larger than the burst is admitted after a proportional wait.
func (b *bucket) take(n float64, now time.Time) time.Duration {
	b.tokens += now.Sub(b.last).Seconds() * b.rate
	if b.tokens > b.burst {
		b.tokens = b.burst
	}
	b.last = now
	b.tokens -= n
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / b.rate * float64(time.Second))
}
