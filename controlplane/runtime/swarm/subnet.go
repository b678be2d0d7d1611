package swarm

import (
	"context"
	"net"
	"strings"

	"github.com/backpackhq/backpack/controlplane/runtime"
	"github.com/docker/docker/api/types/network"
)

// checkPublicSubnet warns when backpack_public has an address range the backends' APIs do not
// trust (a network made without --subnet, or a changed BACKPACK_TRUSTED_PROXIES): behind
// Traefik every client would then be counted as Traefik's address by the login and sign-up
// throttles, and one client's failures would throttle everyone.
func (r *Runtime) checkPublicSubnet(ctx context.Context) {
	n, err := r.engine.NetworkInspect(ctx, PublicNetwork, network.InspectOptions{})
	if err != nil {
		r.log.Warn("cannot read the public network's subnet", "network", PublicNetwork, "err", err)
		return
	}
	trusted := r.vars(runtime.Spec{}, 1).WithDefaults().TrustedProxies
	for _, c := range n.IPAM.Config {
		if !subnetTrusted(c.Subnet, trusted) {
			r.log.Warn("the public network's subnet is not among the trusted proxies: set BACKPACK_TRUSTED_PROXIES to it, or the throttles count Traefik's address for every client",
				"network", PublicNetwork, "subnet", c.Subnet, "trusted_proxies", strings.Join(trusted, ","))
		}
	}
}

// subnetTrusted reports whether the CIDR subnet lies inside one of the trusted CIDRs.
func subnetTrusted(subnet string, trusted []string) bool {
	_, sn, err := net.ParseCIDR(subnet)
	if err != nil {
		return false
	}
	snOnes, _ := sn.Mask.Size()
	for _, t := range trusted {
		_, tn, err := net.ParseCIDR(t)
		if err != nil {
			continue
		}
		if ones, _ := tn.Mask.Size(); ones <= snOnes && tn.Contains(sn.IP) {
			return true
		}
	}
	return false
}
