package convert

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/docker/api/types/mount"
)

// mounts converts a service's volumes, sorted by target: named volumes of the stack
// (NAMESPACE_KEY, labelled with the namespace so that the engine creates them labelled on
// whichever node the task lands), external volumes by their own name, and tmpfs. check has
// already refused binds and anonymous volumes.
func mounts(p *types.Project, namespace string, volumes []types.ServiceVolumeConfig) ([]mount.Mount, error) {
	var out []mount.Mount
	for i, v := range volumes {
		m := mount.Mount{Target: v.Target, ReadOnly: v.ReadOnly}
		switch v.Type {
		case types.VolumeTypeVolume:
			def, ok := p.Volumes[v.Source]
			if !ok {
				return nil, fmt.Errorf("volumes[%d]: undefined volume %q", i, v.Source)
			}
			m.Type = mount.TypeVolume
			m.Source = objectName(namespace, v.Source, def.Name, bool(def.External))
			noCopy := v.Volume != nil && v.Volume.NoCopy
			switch {
			case !bool(def.External):
				m.VolumeOptions = &mount.VolumeOptions{
					NoCopy: noCopy,
					Labels: withNamespace(namespace, def.Labels),
				}
				if def.Driver != "" {
					m.VolumeOptions.DriverConfig = &mount.Driver{Name: def.Driver}
				}
			case noCopy:
				m.VolumeOptions = &mount.VolumeOptions{NoCopy: true}
			}
		case types.VolumeTypeTmpfs:
			if v.Source != "" {
				return nil, fmt.Errorf("volumes[%d]: a tmpfs has no source", i)
			}
			m.Type = mount.TypeTmpfs
			if v.Tmpfs != nil && (v.Tmpfs.Size != 0 || v.Tmpfs.Mode != 0) {
				if v.Tmpfs.Size < 0 {
					return nil, fmt.Errorf("volumes[%d].tmpfs.size: negative", i)
				}
				m.TmpfsOptions = &mount.TmpfsOptions{
					SizeBytes: int64(v.Tmpfs.Size),
					Mode:      os.FileMode(v.Tmpfs.Mode),
				}
			}
		default:
			return nil, fmt.Errorf("volumes[%d].type: %q", i, v.Type) // refused by check
		}
		out = append(out, m)
	}
	slices.SortStableFunc(out, func(a, b mount.Mount) int {
		return strings.Compare(a.Target, b.Target)
	})
	for i := 1; i < len(out); i++ {
		if out[i].Target == out[i-1].Target {
			return nil, fmt.Errorf("volumes: two mounts on %s", out[i].Target)
		}
	}
	return out, nil
}
