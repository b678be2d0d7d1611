package httpapi

import (
	"fmt"
	"net"
	"strings"

	"github.com/labstack/echo/v4"
)

// ParseTrustedProxies parses the addresses of the reverse proxies an API sits behind: CIDRs
// ("10.213.0.0/16") or single addresses ("192.0.2.7"). Empty entries are skipped.
func ParseTrustedProxies(list []string) ([]*net.IPNet, error) {
	var nets []*net.IPNet
	for _, raw := range list {
		s := strings.TrimSpace(raw)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			ip := net.ParseIP(s)
			if ip == nil {
				return nil, fmt.Errorf("trusted proxy %q: not an address or a CIDR", s)
			}
			bits := 128
			if ip.To4() != nil {
				ip, bits = ip.To4(), 32
			}
			nets = append(nets, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			continue
		}
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: not an address or a CIDR", s)
		}
		nets = append(nets, n)
	}
	return nets, nil
}

// ClientIP is how both APIs learn a request's client address, which the login and sign-up
// throttles count: the connection's peer, unless the peer is one of the trusted proxies, in
// which case X-Forwarded-For is read from the right, skipping trusted proxies, to the first
// address that is not one. With no trusted proxies the header is ignored, so a client cannot
// choose the address it is counted under.
func ClientIP(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}
