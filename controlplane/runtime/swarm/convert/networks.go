package convert

import (
	"cmp"
	"slices"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
)

// defaultNetwork is the network compose attaches a service to when it names none.
const defaultNetwork = "default"

// Networks returns the overlay networks the stack creates, keyed by Swarm name: those its
// services use and that are not external, as `docker stack deploy` does. The options are
// those of the engine's NetworkCreate, which Engine 20.10 (API 1.41) understands as they are.
func Networks(p *types.Project, namespace string) (map[string]network.CreateOptions, error) {
	if err := check(p, namespace); err != nil {
		return nil, err
	}
	out := map[string]network.CreateOptions{}
	for _, key := range usedNetworks(p) {
		n := p.Networks[key]
		if n.External {
			continue
		}
		opts := network.CreateOptions{
			Driver:     cmp.Or(n.Driver, "overlay"),
			Internal:   n.Internal,
			Attachable: n.Attachable,
			Labels:     withNamespace(namespace, n.Labels),
		}
		if len(n.DriverOpts) > 0 {
			opts.Options = map[string]string{}
			for k, v := range n.DriverOpts {
				opts.Options[k] = v
			}
		}
		out[objectName(namespace, key, n.Name, false)] = opts
	}
	return out, nil
}

// ExternalNetworks lists, sorted, the real names of the external networks the stack's
// services attach to, which the runtime must find before deploying: the stack does not
// create them and a service attached to a missing network is refused by the engine.
func ExternalNetworks(p *types.Project) []string {
	var out []string
	for _, key := range usedNetworks(p) {
		if n := p.Networks[key]; n.External {
			out = append(out, objectName(p.Name, key, n.Name, true))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// usedNetworks lists, sorted, the keys of the networks some service attaches to.
func usedNetworks(p *types.Project) []string {
	used := map[string]bool{}
	for _, s := range p.Services {
		for _, key := range serviceNetworks(s) {
			used[key] = true
		}
	}
	return sortedKeys(used)
}

// serviceNetworks lists a service's network keys; a service that names none is on the
// stack's default network (the loader says so explicitly, a project loaded without
// normalization does not).
func serviceNetworks(s types.ServiceConfig) []string {
	if len(s.Networks) == 0 {
		return []string{defaultNetwork}
	}
	return sortedKeys(s.Networks)
}

// networkAttachments attaches the service to its networks, sorted by target. On the stack's
// own networks the service is also reachable by its short name, as with `docker stack
// deploy`. On external networks, which every backend shares, it is not: there "api" would
// resolve to every backend's API at once; NAMESPACE_SERVICE, which the engine registers on
// every network, is the unambiguous name.
func networkAttachments(p *types.Project, namespace string, s types.ServiceConfig) []swarm.NetworkAttachmentConfig {
	var out []swarm.NetworkAttachmentConfig
	for _, key := range serviceNetworks(s) {
		def := p.Networks[key]
		var aliases []string
		if c := s.Networks[key]; c != nil {
			aliases = append(aliases, c.Aliases...)
		}
		if !def.External {
			aliases = append(aliases, s.Name)
		}
		slices.Sort(aliases)
		out = append(out, swarm.NetworkAttachmentConfig{
			Target:  objectName(namespace, key, def.Name, bool(def.External)),
			Aliases: slices.Compact(aliases),
		})
	}
	slices.SortFunc(out, func(a, b swarm.NetworkAttachmentConfig) int {
		return cmp.Compare(a.Target, b.Target)
	})
	return out
}
