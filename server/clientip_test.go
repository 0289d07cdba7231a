package server

import (
	"net/netip"
	"strings"
	"testing"
)

func TestClientIPResolve(t *testing.T) {
	t.Parallel()
	trusted, err := ParseTrustedProxies(" 10.0.0.0/8, 192.0.2.10 ,2001:db8:ffff::/48")
	if err != nil {
		t.Fatal(err)
	}
	ci := clientIPs{trusted: trusted}
	cases := []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"no proxies configured", "10.0.0.1", []string{"198.51.100.1"}, "10.0.0.1"},
		{"untrusted peer: header ignored", "203.0.113.9", []string{"198.51.100.1"}, "203.0.113.9"},
		{"trusted peer, one hop", "10.0.0.1", []string{"198.51.100.1"}, "198.51.100.1"},
		{"client-written left part ignored", "10.0.0.1", []string{"1.1.1.1, 198.51.100.1"}, "198.51.100.1"},
		{"chain of trusted proxies", "10.0.0.1", []string{"1.1.1.1, 198.51.100.1, 192.0.2.10, 10.9.9.9"}, "198.51.100.1"},
		{"several headers are one list", "10.0.0.1", []string{"1.1.1.1", "198.51.100.1, 10.2.2.2"}, "198.51.100.1"},
		{"trusted peer, no header", "10.0.0.1", nil, "10.0.0.1"},
		{"garbage hop stops at the proxy that passed it", "10.0.0.1", []string{"198.51.100.1, unknown, 10.3.3.3"}, "10.3.3.3"},
		{"every hop trusted", "10.0.0.1", []string{"10.4.4.4, 10.5.5.5"}, "10.4.4.4"},
		{"hop with port", "10.0.0.1", []string{"198.51.100.1:4711"}, "198.51.100.1"},
		{"IPv6 client and proxy", "2001:db8:ffff::1", []string{"2001:db8:1::5, [2001:db8:ffff::2]"}, "2001:db8:1::5"},
		{"IPv4-mapped peer", "::ffff:10.0.0.1", []string{"198.51.100.1"}, "198.51.100.1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := ci
			if tc.name == "no proxies configured" {
				c = clientIPs{}
			}
			var hdrs [][]byte
			for _, h := range tc.xff {
				hdrs = append(hdrs, []byte(h))
			}
			if got := c.resolve(netip.MustParseAddr(tc.peer), hdrs); got.String() != tc.want {
				t.Fatalf("resolve = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestParseTrustedProxies(t *testing.T) {
	t.Parallel()
	got, err := ParseTrustedProxies("10.1.2.3/8,,::1")
	if err != nil || len(got) != 2 || got[0].String() != "10.0.0.0/8" || got[1].String() != "::1/128" {
		t.Fatalf("got %v, %v", got, err)
	}
	if _, err := ParseTrustedProxies("10.0.0.0/8, proxy.local"); err == nil || !strings.Contains(err.Error(), `"proxy.local"`) {
		t.Fatalf("bad entry: %v", err)
	}
}
