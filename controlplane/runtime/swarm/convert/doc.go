// Package convert turns a loaded compose-spec stack (compose-go's *types.Project) into the
// Docker Swarm API objects the swarm runtime creates: services, networks, secrets, configs and
// volumes.
//
// It is pure on purpose: no Docker engine, no file system, no environment. The runtime loads
// and interpolates the stack template, passes the project here together with the stack's
// namespace (the backend name) and the bytes of its secrets and configs, then compares the
// result with what the engine reports. Every output is deterministic (maps keyed by object
// name, sorted slices) so that comparing a desired spec with the current one only shows real
// differences.
//
// Names and labels follow `docker stack deploy`: objects are named NAMESPACE_KEY unless the
// compose file gives an explicit `name:`, and carry com.docker.stack.namespace, so `docker
// stack ls/ps/rm` work on stacks the control plane made.
//
// Anything in the compose file that this package would not carry into the Swarm objects is
// refused with an *UnsupportedError naming the object and the attribute, instead of being
// dropped silently: a template must never look like it does something the runtime ignores.
// The supported attributes are the allow-lists in unsupported.go. Deliberate choices:
//   - Bind mounts and anonymous volumes are refused: a backend's stack must not touch host
//     paths, and every volume must be named and labelled so that a purge finds it.
//   - depends_on is accepted with the default condition only, as the start order `docker
//     stack deploy` ignores too; conditions (healthy, completed) promise what Swarm never does.
//   - On the stack's own networks a service is aliased by its short name; on external networks,
//     shared by every backend, it is not (see networkAttachments).
//   - `restart: "no"` means no restart (docker stack deploy turns it into the default, any).
//   - Ports published in ingress mode with endpoint_mode dnsrr are refused with the fix
//     (mode: host), rather than by the engine at create time.
package convert

import "strings"

const (
	// LabelNamespace marks every object of a stack, as `docker stack deploy` does, so stacks
	// made by the control plane and by hand are listed and removed the same way.
	LabelNamespace = "com.docker.stack.namespace"
	// LabelImage keeps the image as written in the compose file on the service: the engine
	// rewrites ContainerSpec.Image with a digest, and `docker stack` reads this label back.
	LabelImage = "com.docker.stack.image"
	// LabelDigest is the sha256 of a secret's or config's data. The engine never returns a
	// secret's data, so this label is the only way for the runtime to notice that the content
	// changed and the object must be rotated under a new name.
	LabelDigest = "com.backpackhq.backpack.digest"
)

// scope is the Swarm name of a stack object declared under key, as `docker stack deploy`
// names it.
func scope(namespace, key string) string {
	return namespace + "_" + key
}

// withNamespace copies labels and adds the namespace label, which always wins: an object
// claiming another stack would be removed with it.
func withNamespace(namespace string, labels map[string]string) map[string]string {
	out := make(map[string]string, len(labels)+1)
	for k, v := range labels {
		out[k] = v
	}
	out[LabelNamespace] = namespace
	return out
}

// objectName is the Swarm name of a top-level network, volume, secret or config: the loader
// already fills `name` (NAMESPACE_KEY, the key itself for external objects, or an explicit
// name); a project loaded without normalization gets the same names here.
func objectName(namespace, key, name string, external bool) string {
	switch {
	case strings.TrimSpace(name) != "":
		return name
	case external:
		return key
	default:
		return scope(namespace, key)
	}
}
