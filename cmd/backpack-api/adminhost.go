package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"
)

// adminHostTimeout is how long the API waits for its own name on the admin network to resolve:
// Swarm registers a task's names when it starts or, for a task with a health check, once the
// check passes, which waits for the API to be ready (its database and Redis answering).
const adminHostTimeout = 5 * time.Minute

// localResolver is what adminListenIP needs from the system; tests replace it.
type localResolver struct {
	lookup    func(ctx context.Context, host string) ([]netip.Addr, error)
	localAddr func() ([]netip.Addr, error)
}

var systemResolver = localResolver{
	lookup: func(ctx context.Context, host string) ([]netip.Addr, error) {
		return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	},
	localAddr: func() ([]netip.Addr, error) {
		addrs, err := net.InterfaceAddrs()
		if err != nil {
			return nil, err
		}
		var out []netip.Addr
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil {
				out = append(out, p.Addr().Unmap())
			}
		}
		return out, nil
	},
}

// adminListenIP turns the admin listen host into the address to bind. An IP address or ""
// is used as it is. A name — in a stack, the API's alias on the admin network — is resolved and
// the one address of this container among the answers is bound, so the admin port answers on
// that network only, not on the public one the container also joins. Other replicas' addresses
// are in the answer too, hence the match against the local interfaces.
func adminListenIP(ctx context.Context, host string, r localResolver, timeout time.Duration) (string, error) {
	if host == "" {
		return "", nil
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return host, nil
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		resolved, err := r.lookup(ctx, host)
		if err == nil {
			local, lerr := r.localAddr()
			if lerr != nil {
				return "", fmt.Errorf("admin listen host %s: list local addresses: %w", host, lerr)
			}
			for _, a := range resolved {
				if slices.Contains(local, a.Unmap()) {
					return a.Unmap().String(), nil
				}
			}
			last = fmt.Errorf("it resolves to %v, none of which is this host's", resolved)
		} else {
			last = err
		}
		select {
		case <-ctx.Done():
			if parent.Err() != nil {
				return "", parent.Err()
			}
			return "", fmt.Errorf("admin listen host %s: no local address after %s: %v", host, timeout, last)
		case <-time.After(500 * time.Millisecond):
		}
	}
}
