package main

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestAdminListenIP(t *testing.T) {
	addrs := func(s ...string) []netip.Addr {
		out := make([]netip.Addr, len(s))
		for i, a := range s {
			out[i] = netip.MustParseAddr(a)
		}
		return out
	}
	local := func() ([]netip.Addr, error) { return addrs("127.0.0.1", "10.0.1.7", "10.0.2.9"), nil }
	var calls atomic.Int64
	r := localResolver{localAddr: local, lookup: func(_ context.Context, host string) ([]netip.Addr, error) {
		calls.Add(1)
		switch host {
		case "shop-admin":
			// Every replica's address on the admin network; this container's is the second.
			return addrs("10.0.2.3", "10.0.2.9", "10.0.2.4"), nil
		case "mapped":
			return addrs("::ffff:10.0.1.7"), nil
		case "late":
			if calls.Load() < 3 {
				return nil, errors.New("no such host")
			}
			return addrs("10.0.1.7"), nil
		case "elsewhere":
			return addrs("10.9.9.9"), nil
		}
		return nil, errors.New("no such host")
	}}
	ctx := context.Background()
	for host, want := range map[string]string{"": "", "0.0.0.0": "0.0.0.0", "::1": "::1", "shop-admin": "10.0.2.9", "mapped": "10.0.1.7"} {
		if got, err := adminListenIP(ctx, host, r, time.Second); err != nil || got != want {
			t.Errorf("adminListenIP(%q) = %q, %v; want %q", host, got, err, want)
		}
	}
	calls.Store(0)
	if got, err := adminListenIP(ctx, "late", r, 5*time.Second); err != nil || got != "10.0.1.7" {
		t.Errorf("a name that resolves after a while = %q, %v", got, err)
	}
	for _, host := range []string{"elsewhere", "missing"} {
		_, err := adminListenIP(ctx, host, r, 600*time.Millisecond)
		if err == nil || !strings.Contains(err.Error(), host) {
			t.Errorf("adminListenIP(%q) = %v; want an error naming it", host, err)
		}
	}
}
