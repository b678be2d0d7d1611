package swarm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/backpackhq/backpack/controlplane/runtime"
	"github.com/backpackhq/backpack/controlplane/runtime/swarm/convert"
	"github.com/backpackhq/backpack/stacktemplates"
	"github.com/backpackhq/backpack/tools/names"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
)

// LabelSpec is the digest of the service spec the runtime last applied. The engine fills in
// defaults and rewrites parts of a spec, so comparing specs field by field would see changes
// that are not there; comparing what was asked for is exact.
const LabelSpec = "com.backpackhq.backpack.spec"

// Apply deploys the backend's stack like `docker stack deploy`, but idempotently and in an
// order that never leaves a service pointing at something missing: node, networks, secrets,
// configs, then services (created, updated when their spec changed, else left alone), then
// whatever an earlier version of the stack had and this one no longer uses.
func (r *Runtime) Apply(ctx context.Context, spec runtime.Spec, progress runtime.Progress) (string, error) {
	// The name goes into Docker object names and labels before the template validates the
	// rest, so it is checked first.
	if err := names.Backend(spec.Name); err != nil {
		return "", fmt.Errorf("deploy: %w", err)
	}
	if spec.Node == "" {
		defer r.unreserve(spec.Name)
	}
	node, err := r.place(ctx, spec.Name, spec.Node)
	if err != nil {
		return "", fmt.Errorf("place %s: %w", spec.Name, err)
	}
	spec.Node = node
	if err := r.ensurePlatformNetworks(ctx); err != nil {
		return node, err
	}
	version, secretIDs, err := r.backendSecrets(ctx, spec, progress)
	if err != nil {
		return node, fmt.Errorf("deploy %s: %w", spec.Name, err)
	}
	vars := r.vars(spec, version)
	p, err := stacktemplates.Load(ctx, vars)
	if err != nil {
		return node, fmt.Errorf("deploy %s: %w", spec.Name, err)
	}
	if err := r.applyStack(ctx, p, spec.Name, types.Mapping(vars.Environment()), secretIDs, progress); err != nil {
		return node, fmt.Errorf("deploy %s: %w", spec.Name, err)
	}
	return node, nil
}

// applyStack creates or updates the stack's networks, configs and services, then removes the
// stack's services, secrets and configs that the project no longer has.
func (r *Runtime) applyStack(ctx context.Context, p *types.Project, name string, env types.Mapping, secretIDs map[string]string, progress runtime.Progress) error {
	if err := convert.Validate(p, name); err != nil {
		return err
	}
	networks, err := convert.Networks(p, name)
	if err != nil {
		return err
	}
	if err := r.ensureNetworks(ctx, name, networks, progress); err != nil {
		return err
	}
	configs, err := convert.Configs(p, name, convert.InlineData(env))
	if err != nil {
		return err
	}
	configIDs, err := r.ensureConfigs(ctx, name, configs, progress)
	if err != nil {
		return err
	}
	services, err := convert.Services(p, name)
	if err != nil {
		return err
	}
	if err := r.ensureServices(ctx, name, services, secretIDs, configIDs, progress); err != nil {
		return err
	}
	r.removeUnused(ctx, name, secretIDs, configIDs)
	return nil
}

func (r *Runtime) ensureNetworks(ctx context.Context, stack string, want map[string]network.CreateOptions, progress runtime.Progress) error {
	have, err := r.engine.NetworkList(ctx, network.ListOptions{Filters: namespaceFilter(stack)})
	if err != nil {
		return fmt.Errorf("list networks: %w", err)
	}
	exists := map[string]bool{}
	for _, n := range have {
		exists[n.Name] = true
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if exists[name] {
			continue
		}
		_, err := r.engine.NetworkCreate(ctx, name, want[name])
		switch {
		case err == nil:
			progress("network " + name + " created")
		case !errdefs.IsConflict(err): // a conflict: a concurrent apply made it
			return fmt.Errorf("create network %s: %w", name, err)
		}
	}
	return nil
}

// ensurePlatformNetworks creates backpack_public and backpack_admin when the operator has not:
// both attachable overlays (the control plane, Traefik and tests attach to them), the admin
// one internal, the public one on stacktemplates.PublicSubnet, which the APIs trust as
// Traefik's by default.
func (r *Runtime) ensurePlatformNetworks(ctx context.Context) error {
	have, err := r.engine.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(
		filters.Arg("name", PublicNetwork), filters.Arg("name", AdminNetwork))})
	if err != nil {
		return fmt.Errorf("list networks: %w", err)
	}
	for _, want := range []struct {
		name     string
		internal bool
	}{{PublicNetwork, false}, {AdminNetwork, true}} {
		if slices.ContainsFunc(have, func(n network.Summary) bool { return n.Name == want.name }) {
			continue
		}
		opts := network.CreateOptions{Driver: "overlay", Attachable: true, Internal: want.internal}
		if want.name == PublicNetwork {
			opts.IPAM = &network.IPAM{Config: []network.IPAMConfig{{Subnet: stacktemplates.PublicSubnet}}}
		}
		_, err := r.engine.NetworkCreate(ctx, want.name, opts)
		switch {
		case err == nil:
			r.log.Info("created platform network", "network", want.name)
		case !errdefs.IsConflict(err):
			return fmt.Errorf("create network %s: %w", want.name, err)
		}
	}
	return nil
}

// ensureConfigs creates the configs that do not exist yet. A config's name carries a hash of
// its content, so an existing one with other data means a broken name scheme, not a change.
func (r *Runtime) ensureConfigs(ctx context.Context, stack string, want map[string]swarm.ConfigSpec, progress runtime.Progress) (map[string]string, error) {
	have, err := r.engine.ConfigList(ctx, swarm.ConfigListOptions{Filters: namespaceFilter(stack)})
	if err != nil {
		return nil, fmt.Errorf("list configs: %w", err)
	}
	ids := map[string]string{}
	for _, c := range have {
		if w, ok := want[c.Spec.Name]; ok {
			if c.Spec.Labels[convert.LabelDigest] != w.Labels[convert.LabelDigest] {
				return nil, fmt.Errorf("config %s exists with other content; configs are immutable, so a new content needs a new name", c.Spec.Name)
			}
			ids[c.Spec.Name] = c.ID
		}
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if ids[name] != "" {
			continue
		}
		created, err := r.engine.ConfigCreate(ctx, want[name])
		if err != nil {
			return nil, fmt.Errorf("create config %s: %w", name, err)
		}
		ids[name] = created.ID
		progress("config " + name + " created")
	}
	return ids, nil
}

// ensureServices creates missing services and updates those whose spec digest changed; the
// service's version makes the update fail, rather than overwrite, if someone changed it since
// it was read. Services of the stack that the project no longer has are removed.
func (r *Runtime) ensureServices(ctx context.Context, stack string, want map[string]swarm.ServiceSpec, secretIDs, configIDs map[string]string, progress runtime.Progress) error {
	have, err := r.engine.ServiceList(ctx, swarm.ServiceListOptions{Filters: namespaceFilter(stack)})
	if err != nil {
		return fmt.Errorf("list services: %w", err)
	}
	current := map[string]swarm.Service{}
	for _, s := range have {
		current[s.Spec.Name] = s
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		spec, err := convert.ResolveReferences(want[name], secretIDs, configIDs)
		if err != nil {
			return err
		}
		spec, err = withSpecDigest(spec)
		if err != nil {
			return err
		}
		existing, ok := current[name]
		switch {
		case !ok:
			if _, err := r.engine.ServiceCreate(ctx, spec, swarm.ServiceCreateOptions{}); err != nil {
				return fmt.Errorf("create service %s: %w", name, err)
			}
			progress("service " + name + " created")
		case existing.Spec.Labels[LabelSpec] != spec.Labels[LabelSpec]:
			if _, err := r.engine.ServiceUpdate(ctx, existing.ID, existing.Version, spec, swarm.ServiceUpdateOptions{}); err != nil {
				return fmt.Errorf("update service %s: %w", name, err)
			}
			progress("service " + name + " updated")
		}
	}
	for name, s := range current {
		if _, ok := want[name]; !ok {
			if err := r.engine.ServiceRemove(ctx, s.ID); err != nil && !errdefs.IsNotFound(err) {
				return fmt.Errorf("remove service %s, no longer in the stack: %w", name, err)
			}
			progress("service " + name + " removed (no longer in the stack)")
		}
	}
	return nil
}

// withSpecDigest labels spec with the digest of spec without those labels, and its container
// spec (which every task copies, so Status can tell a task of this spec from one of the
// previous) with the digest of the same without the service's mode: a new count of replicas
// changes the service, so it is applied, but not its task template, so Swarm adds or removes
// tasks instead of replacing every one.
func withSpecDigest(spec swarm.ServiceSpec) (swarm.ServiceSpec, error) {
	spec.Labels = withoutLabel(spec.Labels, LabelSpec)
	var cs *swarm.ContainerSpec
	if spec.TaskTemplate.ContainerSpec != nil {
		c := *spec.TaskTemplate.ContainerSpec
		c.Labels = withoutLabel(c.Labels, LabelSpec)
		cs = &c
		spec.TaskTemplate.ContainerSpec = cs
	}
	digest := func(s swarm.ServiceSpec) (string, error) {
		b, err := json.Marshal(s)
		if err != nil {
			return "", fmt.Errorf("service %s: %w", spec.Name, err)
		}
		return convert.Digest(b), nil
	}
	whole, err := digest(spec)
	if err != nil {
		return spec, err
	}
	unscaled := spec
	unscaled.Mode = swarm.ServiceMode{}
	task, err := digest(unscaled)
	if err != nil {
		return spec, err
	}
	spec.Labels[LabelSpec] = whole
	if cs != nil {
		cs.Labels[LabelSpec] = task
	}
	return spec, nil
}

// withoutLabel copies labels without key (never nil, so the caller can add to it).
func withoutLabel(labels map[string]string, key string) map[string]string {
	out := make(map[string]string, len(labels)+1)
	for k, v := range labels {
		if k != key {
			out[k] = v
		}
	}
	return out
}

// removeUnused removes the stack's secrets and configs that the services no longer refer to
// (earlier versions). One still held by a task that is shutting down cannot go yet; the next
// apply retries, so failures are only logged.
func (r *Runtime) removeUnused(ctx context.Context, stack string, secretIDs, configIDs map[string]string) {
	secrets, err := r.engine.SecretList(ctx, swarm.SecretListOptions{Filters: namespaceFilter(stack)})
	if err == nil {
		for _, s := range secrets {
			if _, ok := secretIDs[s.Spec.Name]; !ok {
				err = errors.Join(err, r.engine.SecretRemove(ctx, s.ID))
			}
		}
	}
	configs, cerr := r.engine.ConfigList(ctx, swarm.ConfigListOptions{Filters: namespaceFilter(stack)})
	err = errors.Join(err, cerr)
	if cerr == nil {
		for _, c := range configs {
			if _, ok := configIDs[c.Spec.Name]; !ok {
				err = errors.Join(err, r.engine.ConfigRemove(ctx, c.ID))
			}
		}
	}
	if err != nil {
		r.log.Debug("earlier secrets or configs not removed yet", "backend", stack, "err", err)
	}
}
