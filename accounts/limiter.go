package accounts

import (
	"fmt"
	"net/netip"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// DefaultLimiterKeys is how many keys each failure table remembers. A full
// table forgets its least recently used keys first (see failureTable).
const DefaultLimiterKeys = 100_000

// loginLimiter counts failed logins twice: per (client address, email),
// which stops guessing one account's password, and per client address,
// which stops one client from spraying many accounts (and from flooding
// the first table with fresh keys). A login is refused while either count
// is at its limit within the window.
type loginLimiter struct {
	pair, ip *failureTable
}

func newLoginLimiter(pairMax, ipMax int, window time.Duration, keys int) *loginLimiter {
	return &loginLimiter{pair: newFailureTable(pairMax, window, keys), ip: newFailureTable(ipMax, window, keys)}
}

// ipKey is the per-address key: an IPv4 address, or the /64 of an IPv6
// address (one host usually holds a whole /64, so counting single IPv6
// addresses would give it 2^64 budgets).
func ipKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// allow reports whether a login from ip for email may be tried now; when
// not, retry says how long until it may.
func (l *loginLimiter) allow(ip, email string, now time.Time) (ok bool, retry time.Duration) {
	ok1, r1 := l.ip.allow(ipKey(ip), now)
	ok2, r2 := l.pair.allow(ipKey(ip)+"|"+email, now)
	return ok1 && ok2, max(r1, r2)
}

func (l *loginLimiter) fail(ip, email string, now time.Time) {
	l.ip.fail(ipKey(ip), now)
	l.pair.fail(ipKey(ip)+"|"+email, now)
}

// succeed forgets the failures of this (address, email) pair. The
// address's own count stays: a client that sprays many accounts does not
// clear its record by also logging in to its own.
func (l *loginLimiter) succeed(ip, email string) {
	l.pair.reset(ipKey(ip) + "|" + email)
}

// failureTable counts failures per key in a sliding window, remembering at
// most a fixed number of keys. The keys live in a 2Q cache (hashicorp
// golang-lru): a key seen once sits in a small "recent" queue, a key seen
// again moves to the "frequent" queue. A flood of fresh keys (an attacker
// inventing addresses or emails to push a victim's record out) only churns
// the recent queue; the record of an account under attack has been touched
// on every guess and stays. Nothing is ever cleared wholesale.
type failureTable struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	keys   *lru.TwoQueueCache[string, []time.Time]
}

func newFailureTable(max int, window time.Duration, keys int) *failureTable {
	if keys <= 0 {
		keys = DefaultLimiterKeys
	}
	c, err := lru.New2Q[string, []time.Time](keys)
	if err != nil { // only for a size <= 0, excluded above
		panic(fmt.Sprintf("limiter cache: %v", err))
	}
	return &failureTable{max: max, window: window, keys: c}
}

// live returns the failures of key still inside the window.
func (t *failureTable) live(key string, now time.Time) []time.Time {
	ts, _ := t.keys.Get(key)
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= t.window {
		i++
	}
	return ts[i:]
}

func (t *failureTable) allow(key string, now time.Time) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ts := t.live(key, now)
	if len(ts) < t.max {
		return true, 0
	}
	// The oldest failure that must leave the window for one more try.
	return false, ts[len(ts)-t.max].Add(t.window).Sub(now)
}

func (t *failureTable) fail(key string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ts := t.live(key, now)
	if len(ts) >= t.max { // keep only what the decision needs
		ts = ts[len(ts)-t.max+1:]
	}
	t.keys.Add(key, append(append(make([]time.Time, 0, len(ts)+1), ts...), now))
}

func (t *failureTable) reset(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.keys.Remove(key)
}
