package convert

import (
	"cmp"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/docker/api/types/swarm"
)

// secretsDir is where compose mounts secrets by default; Swarm's own default is the same, and
// a target relative to it is what `docker stack deploy` sends, so it is written that way.
const secretsDir = "/run/secrets/"

// fileTarget is a reference's file: owner root and mode 0444 unless the file says otherwise,
// as `docker stack deploy` does.
type fileTarget struct {
	name, uid, gid string
	mode           os.FileMode
}

func referenceTarget(ref types.FileReferenceConfig, defaultName string) fileTarget {
	t := fileTarget{name: ref.Target, uid: ref.UID, gid: ref.GID, mode: 0o444}
	if t.name == "" {
		t.name = defaultName
	}
	if t.uid == "" {
		t.uid = "0"
	}
	if t.gid == "" {
		t.gid = "0"
	}
	if ref.Mode != nil {
		t.mode = os.FileMode(*ref.Mode)
	}
	return t
}

// secretReferences points the service at its secrets by Swarm name (NAMESPACE_KEY, or the
// external or explicit name), sorted by name then file.
func secretReferences(p *types.Project, namespace string, s types.ServiceConfig) []*swarm.SecretReference {
	var out []*swarm.SecretReference
	for _, ref := range s.Secrets {
		t := referenceTarget(types.FileReferenceConfig(ref), ref.Source)
		if rest, ok := strings.CutPrefix(t.name, secretsDir); ok && rest != "" && !strings.Contains(rest, "/") {
			t.name = rest
		}
		out = append(out, &swarm.SecretReference{
			SecretName: objectName(namespace, ref.Source, p.Secrets[ref.Source].Name,
				bool(p.Secrets[ref.Source].External)),
			File: &swarm.SecretReferenceFileTarget{Name: t.name, UID: t.uid, GID: t.gid, Mode: t.mode},
		})
	}
	slices.SortFunc(out, func(a, b *swarm.SecretReference) int {
		return cmp.Or(cmp.Compare(a.SecretName, b.SecretName), cmp.Compare(a.File.Name, b.File.Name))
	})
	return out
}

// configReferences points the service at its configs by Swarm name; a config without a target
// lands at /KEY, as the compose specification says.
func configReferences(p *types.Project, namespace string, s types.ServiceConfig) []*swarm.ConfigReference {
	var out []*swarm.ConfigReference
	for _, ref := range s.Configs {
		t := referenceTarget(types.FileReferenceConfig(ref), path.Join("/", ref.Source))
		out = append(out, &swarm.ConfigReference{
			ConfigName: objectName(namespace, ref.Source, p.Configs[ref.Source].Name,
				bool(p.Configs[ref.Source].External)),
			File: &swarm.ConfigReferenceFileTarget{Name: t.name, UID: t.uid, GID: t.gid, Mode: t.mode},
		})
	}
	slices.SortFunc(out, func(a, b *swarm.ConfigReference) int {
		return cmp.Or(cmp.Compare(a.ConfigName, b.ConfigName), cmp.Compare(a.File.Name, b.File.Name))
	})
	return out
}

// ResolveReferences returns a copy of spec whose secret and config references carry the
// object IDs the engine requires, looked up by name in secretIDs and configIDs (what the
// runtime created or found). A name missing from the maps is an error naming it, rather than
// a service the engine refuses later.
func ResolveReferences(spec swarm.ServiceSpec, secretIDs, configIDs map[string]string) (swarm.ServiceSpec, error) {
	if spec.TaskTemplate.ContainerSpec == nil {
		return spec, nil
	}
	cs := *spec.TaskTemplate.ContainerSpec
	var missing []string
	cs.Secrets = make([]*swarm.SecretReference, len(cs.Secrets))
	for i, ref := range spec.TaskTemplate.ContainerSpec.Secrets {
		r := *ref
		r.SecretID = secretIDs[r.SecretName]
		if r.SecretID == "" {
			missing = append(missing, "secret "+r.SecretName)
		}
		cs.Secrets[i] = &r
	}
	cs.Configs = make([]*swarm.ConfigReference, len(cs.Configs))
	for i, ref := range spec.TaskTemplate.ContainerSpec.Configs {
		r := *ref
		r.ConfigID = configIDs[r.ConfigName]
		if r.ConfigID == "" {
			missing = append(missing, "config "+r.ConfigName)
		}
		cs.Configs[i] = &r
	}
	if len(cs.Secrets) == 0 {
		cs.Secrets = nil
	}
	if len(cs.Configs) == 0 {
		cs.Configs = nil
	}
	if len(missing) > 0 {
		return swarm.ServiceSpec{}, fmt.Errorf("service %q: no ID for %s", spec.Name, strings.Join(missing, ", "))
	}
	spec.TaskTemplate.ContainerSpec = &cs
	return spec, nil
}
