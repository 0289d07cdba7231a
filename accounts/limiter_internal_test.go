package accounts

import (
	"fmt"
	"testing"
	"time"
)

// floodAddr is the i-th of many distinct client addresses.
func floodAddr(i int) string { return fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255) }

// TestLimiterFloodKeepsVictim: an attacker who has used up a victim's
// failures cannot wipe them by making the limiter see many fresh keys.
// (The limiter before this test cleared its whole map at 100,000 keys; the
// same flood against it gave the victim a fresh budget.)
func TestLimiterFloodKeepsVictim(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name  string
		keys  int // table size
		flood int // distinct addresses, one failure each
	}{
		{"past the old reset point", DefaultLimiterKeys, DefaultLimiterKeys + 1},
		{"ten times the table size", 1000, 10_000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := newLoginLimiter(3, 1000, 15*time.Minute, tc.keys)
			for range 3 {
				l.fail("203.0.113.7", "victim@example.com", now)
			}
			if ok, _ := l.allow("203.0.113.7", "victim@example.com", now); ok {
				t.Fatal("victim not limited after 3 failures")
			}
			for i := range tc.flood {
				if ok, _ := l.allow(floodAddr(i), "x@example.com", now); ok {
					l.fail(floodAddr(i), "x@example.com", now)
				}
			}
			ok, retry := l.allow("203.0.113.7", "victim@example.com", now.Add(time.Second))
			if ok {
				t.Fatalf("a flood of %d distinct keys reset the victim's failure count", tc.flood)
			}
			if retry <= 0 || retry > 15*time.Minute {
				t.Fatalf("retry after %v, want within the 15-minute window", retry)
			}
			if n := l.pair.keys.Len(); n > tc.keys {
				t.Fatalf("table holds %d keys, more than its size %d", n, tc.keys)
			}
		})
	}
}

func TestLimiterPerAddress(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	l := newLoginLimiter(3, 5, 15*time.Minute, 100)
	// One address spraying five accounts uses up its own budget…
	for i := range 5 {
		if ok, _ := l.allow("198.51.100.1", fmt.Sprintf("u%d@example.com", i), now); !ok {
			t.Fatalf("attempt %d refused", i)
		}
		l.fail("198.51.100.1", fmt.Sprintf("u%d@example.com", i), now)
	}
	if ok, _ := l.allow("198.51.100.1", "fresh@example.com", now); ok {
		t.Fatal("an address over its limit may still try a fresh account")
	}
	// …a success on one of them does not clear it…
	l.succeed("198.51.100.1", "u0@example.com")
	if ok, _ := l.allow("198.51.100.1", "u0@example.com", now); ok {
		t.Fatal("a success cleared the address's record")
	}
	// …other addresses are not affected, and the window ends it.
	if ok, _ := l.allow("198.51.100.2", "fresh@example.com", now); !ok {
		t.Fatal("another address was limited")
	}
	if ok, _ := l.allow("198.51.100.1", "fresh@example.com", now.Add(15*time.Minute)); !ok {
		t.Fatal("still limited after the window")
	}
	// IPv6 addresses count per /64; IPv4-mapped IPv6 counts as IPv4.
	for i := range 5 {
		l.fail(fmt.Sprintf("2001:db8:1:2::%x", i+1), "v6@example.com", now)
	}
	if ok, _ := l.allow("2001:db8:1:2:ffff::9", "other@example.com", now); ok {
		t.Fatal("another address of the same IPv6 /64 has its own budget")
	}
	if got := ipKey("::ffff:192.0.2.1"); got != "192.0.2.1" {
		t.Fatalf("ipKey(mapped) = %q", got)
	}
}
