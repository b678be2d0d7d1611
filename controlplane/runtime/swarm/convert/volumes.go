package convert

import (
	"cmp"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/docker/api/types/volume"
)

// Volumes returns the stack's own named volumes (not external ones), keyed by name, as the
// engine's VolumeCreate takes them. Swarm creates a volume on whichever node first runs a task
// mounting it, with the labels the mount carries; the runtime uses this list to find them
// by name and namespace label, and to remove them when a backend is purged.
func Volumes(p *types.Project, namespace string) (map[string]volume.CreateOptions, error) {
	if err := check(p, namespace); err != nil {
		return nil, err
	}
	out := map[string]volume.CreateOptions{}
	for _, key := range sortedKeys(p.Volumes) {
		v := p.Volumes[key]
		if v.External {
			continue
		}
		name := objectName(namespace, key, v.Name, false)
		out[name] = volume.CreateOptions{
			Name:   name,
			Driver: cmp.Or(v.Driver, "local"),
			Labels: withNamespace(namespace, v.Labels),
		}
	}
	return out, nil
}
