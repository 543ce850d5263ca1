package webhook

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
)

// Targets says which endpoints webhooks may POST to. Kehu runs inside the
// operator's network: a target an admin may choose must not reach what
// only Kehu can reach (the database, metadata services, other pods), so
// loopback, private, link-local and similar addresses are refused — when
// the URL is checked and again for the address actually dialled, so a
// name that resolves elsewhere later (DNS rebinding) is caught too.
// Allowing private targets opens loopback and private networks only.
type Targets struct {
	// AllowHTTP accepts plain http (development only).
	AllowHTTP bool
	// AllowPrivate accepts loopback and private addresses (tests, or an
	// operator whose receivers live in the cluster); link-local ones stay
	// refused.
	AllowPrivate bool
}

// check returns why uri is not an acceptable target, or "".
func (t Targets) check(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "must be an absolute URL such as https://example.com/hooks/kehu"
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && t.AllowHTTP:
	case u.Scheme == "http":
		return "must use https (plain http is accepted only in development)"
	default:
		return fmt.Sprintf("must use https, not %q", u.Scheme)
	}
	if u.User != nil {
		return "must not carry a user name or password (the signature authenticates Kehu)"
	}
	if u.Fragment != "" {
		return "must not have a fragment"
	}
	if len(uri) > 2048 {
		return "must be at most 2048 characters"
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if ip, err := netip.ParseAddr(host); err == nil {
		if !t.allowed(ip) {
			return fmt.Sprintf("must be a public address, not %s", ip)
		}
		return ""
	}
	if !t.AllowPrivate && (host == "localhost" || strings.HasSuffix(host, ".localhost") || strings.HasSuffix(host, ".local") || strings.HasSuffix(host, ".internal")) {
		return fmt.Sprintf("must be a public address, not %s", host)
	}
	return ""
}

// allowed reports whether webhooks may connect to ip: public addresses,
// and with AllowPrivate loopback and private networks too — never
// link-local (cloud metadata services live there), unspecified or
// multicast addresses.
func (t Targets) allowed(ip netip.Addr) bool {
	ip = ip.Unmap()
	if public(ip) {
		return true
	}
	return t.AllowPrivate && (ip.IsLoopback() || ip.IsPrivate() || cgnat.Contains(ip))
}

// cgnat is carrier-grade NAT space, private to a provider's network.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// public reports whether ip is an address on the internet at large.
func public(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// nonPublic are ranges netip has no predicate for: carrier-grade NAT,
// "this network", benchmarking, documentation, reserved, NAT64, 6to4 and
// Teredo (which embed IPv4 addresses), and discard-only.
var nonPublic = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{"0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "192.0.2.0/24", "198.18.0.0/15",
		"198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4", "64:ff9b::/96", "64:ff9b:1::/48", "2001::/32",
		"2001:db8::/32", "2002::/16", "100::/64"} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// control refuses to connect to an address webhooks may not reach
// (net.Dialer.Control): the check on the address actually dialled.
func (t Targets) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("webhook target address %q: %w", address, err)
	}
	if !t.allowed(ap.Addr()) {
		return &net.AddrError{Err: "not a public address (refused for webhooks)", Addr: ap.Addr().String()}
	}
	return nil
}
