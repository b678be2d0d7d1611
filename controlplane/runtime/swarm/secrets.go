package swarm

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/backpackhq/backpack/controlplane/runtime"
	"github.com/backpackhq/backpack/controlplane/runtime/swarm/convert"
	"github.com/backpackhq/backpack/stacktemplates"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
)

// backendSecrets makes sure the external secrets backend.yml refers to hold spec's API key and
// admin token. Swarm secrets are immutable, so they are versioned by name (NAME_api_key_vN):
// the newest version is kept when its digest labels match, otherwise version N+1 is created
// and the services, updated to it, roll over. It returns the version in use and the IDs of
// the backend's secrets by name, for the services' references.
func (r *Runtime) backendSecrets(ctx context.Context, spec runtime.Spec, progress runtime.Progress) (int, map[string]string, error) {
	existing, err := r.engine.SecretList(ctx, swarm.SecretListOptions{Filters: namespaceFilter(spec.Name)})
	if err != nil {
		return 0, nil, fmt.Errorf("list secrets: %w", err)
	}
	byName := map[string]swarm.Secret{}
	latest := 0
	for _, s := range existing {
		byName[s.Spec.Name] = s
		if v, ok := secretVersion(spec.Name, s.Spec.Name); ok && v > latest {
			latest = v
		}
	}
	data := func(version int) map[string][]byte {
		apiKey, adminToken := stacktemplates.Vars{Name: spec.Name, SecretsVersion: version}.SecretNames()
		return map[string][]byte{apiKey: []byte(spec.APIKey), adminToken: []byte(spec.AdminToken)}
	}
	// The newest version is kept when it holds this data; otherwise a new version, which no
	// secret has yet (latest is the highest seen), is created whole.
	if latest > 0 && secretsMatch(byName, data(latest)) {
		ids := map[string]string{}
		for name := range data(latest) {
			ids[name] = byName[name].ID
		}
		return latest, ids, nil
	}
	version := latest + 1
	ids := map[string]string{}
	for name, b := range data(version) {
		created, err := r.engine.SecretCreate(ctx, swarm.SecretSpec{
			Annotations: swarm.Annotations{Name: name, Labels: map[string]string{
				convert.LabelNamespace: spec.Name,
				convert.LabelDigest:    convert.Digest(b),
			}},
			Data: b,
		})
		if err != nil {
			return 0, nil, fmt.Errorf("create secret %s: %w", name, err)
		}
		ids[name] = created.ID
		progress("secret " + name + " created")
	}
	return version, ids, nil
}

// secretsMatch reports whether every wanted secret exists with the wanted data.
func secretsMatch(byName map[string]swarm.Secret, want map[string][]byte) bool {
	for name, b := range want {
		s, ok := byName[name]
		if !ok || s.Spec.Labels[convert.LabelDigest] != convert.Digest(b) {
			return false
		}
	}
	return true
}

// secretVersion reads N from NAME_api_key_vN or NAME_admin_token_vN.
func secretVersion(backend, secret string) (int, bool) {
	for _, kind := range []string{"_api_key_v", "_admin_token_v"} {
		if rest, ok := strings.CutPrefix(secret, backend+kind); ok {
			v, err := strconv.Atoi(rest)
			return v, err == nil && v > 0
		}
	}
	return 0, false
}

// namespaceFilter selects the objects of one stack.
func namespaceFilter(name string) filters.Args {
	return filters.NewArgs(filters.Arg("label", convert.LabelNamespace+"="+name))
}
