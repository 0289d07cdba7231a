package server

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// ParseTrustedProxies reads a comma-separated list of CIDR prefixes or
// single addresses (the --trusted-proxies flag), naming the first entry
// that is neither.
func ParseTrustedProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if p, err := netip.ParsePrefix(item); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q is neither an address nor a CIDR prefix (for example 10.0.0.0/8 or 192.0.2.1)", item)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// clientIPs finds the address of the client behind the proxies we trust.
type clientIPs struct{ trusted []netip.Prefix }

func (ci clientIPs) isTrusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range ci.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// resolve returns the client address of a request that arrived from peer
// with the given X-Forwarded-For values. Only a trusted peer's header is
// read, and it is read from the right: each trusted proxy appends the
// address it received from, so the right-most address that is not a
// trusted proxy is the first one nobody we trust could have been lied to
// about. Anything left of it was written by the client. A hop that is
// not an address stops the walk at the trusted proxy that passed it on.
func (ci clientIPs) resolve(peer netip.Addr, xff [][]byte) netip.Addr {
	peer = peer.Unmap()
	if len(ci.trusted) == 0 || !ci.isTrusted(peer) {
		return peer
	}
	var hops []string
	for _, h := range xff {
		hops = append(hops, strings.Split(string(h), ",")...)
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			return client
		}
		client = a
		if !ci.isTrusted(a) {
			return a
		}
	}
	return client // every hop is one of our proxies
}

// parseHop reads one X-Forwarded-For entry: an address, optionally with
// a port or in brackets.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")); err == nil {
		return a.Unmap(), true
	}
	return netip.Addr{}, false
}

// clientAddress makes the request's remote address the real client's
// (the way nginx's real_ip module does), so c.IP() is right in every
// handler: the login limiter, audit events, invite opens, logs. Without
// --trusted-proxies, X-Forwarded-For is never read.
func (s *Server) clientAddress(c *fiber.Ctx) error {
	fc := c.Context()
	// fasthttp keeps the overridden address across the requests of one
	// keep-alive connection: always start from the connection's own.
	fc.SetRemoteAddr(nil)
	if len(s.proxies.trusted) == 0 {
		return c.Next()
	}
	ta, ok := fc.RemoteAddr().(*net.TCPAddr)
	if !ok {
		return c.Next()
	}
	peer, ok := netip.AddrFromSlice(ta.IP)
	if !ok {
		return c.Next()
	}
	client := s.proxies.resolve(peer, fc.Request.Header.PeekAll(fiber.HeaderXForwardedFor))
	if client != peer.Unmap() {
		fc.SetRemoteAddr(&net.TCPAddr{IP: client.AsSlice()})
	}
	return c.Next()
}
