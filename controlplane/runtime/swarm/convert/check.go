package convert

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// Validate reports, all at once, everything in the stack that the Swarm runtime would refuse
// to deploy: unsupported attributes and values that cannot be converted. Secrets' and
// configs' data are not read. It lets `backpack render` and template tests fail early, with
// the same messages the runtime would give.
func Validate(p *types.Project, namespace string) error {
	if err := check(p, namespace); err != nil {
		return err
	}
	if _, err := Services(p, namespace); err != nil {
		return err
	}
	if _, err := Networks(p, namespace); err != nil {
		return err
	}
	_, err := Volumes(p, namespace)
	return err
}

// check refuses what the runtime would not honour anywhere in p. Every exported conversion
// runs it first, so a stack is refused with the same errors whatever the runtime converts
// first, and a partly convertible stack is never half deployed.
func check(p *types.Project, namespace string) error {
	if p == nil {
		return errors.New("convert: no project")
	}
	if namespace == "" {
		return errors.New("convert: empty namespace")
	}
	if p.Name != "" && p.Name != namespace {
		// The loader names objects after the project: with another name, networks, volumes,
		// secrets and configs would land outside the stack.
		return fmt.Errorf("convert: project %q loaded under another name than the stack %q: "+
			"load it with the stack's name as project name", p.Name, namespace)
	}
	var errs []error
	if len(p.Jobs) > 0 {
		errs = append(errs, &UnsupportedError{Field: "jobs",
			Reason: "a stack runs long-lived services only"})
	}
	if len(p.Models) > 0 {
		errs = append(errs, &UnsupportedError{Field: "models",
			Reason: "a stack runs long-lived services only"})
	}
	for _, name := range sortedKeys(p.DisabledServices) {
		errs = append(errs, &UnsupportedError{Kind: "service", Name: name, Field: "profiles",
			Reason: "every service of a stack is deployed; this one would be left out"})
	}
	for _, name := range sortedKeys(p.Services) {
		errs = append(errs, checkService(p.Services[name])...)
	}
	for _, key := range sortedKeys(p.Networks) {
		errs = append(errs, checkNetwork(key, p.Networks[key])...)
	}
	for _, key := range sortedKeys(p.Volumes) {
		errs = append(errs, checkVolume(key, p.Volumes[key])...)
	}
	for _, key := range sortedKeys(p.Secrets) {
		errs = append(errs, checkFileObject("secret", key, types.FileObjectConfig(p.Secrets[key]))...)
	}
	for _, key := range sortedKeys(p.Configs) {
		errs = append(errs, checkFileObject("config", key, types.FileObjectConfig(p.Configs[key]))...)
	}
	return errors.Join(errs...)
}

// checkService refuses values the runtime cannot honour, then every attribute it does not
// convert. Entries already refused by value are blanked before the attribute walk, so one
// mistake gives one error.
func checkService(s types.ServiceConfig) []error {
	var errs []error
	refuse := func(field, reason string) {
		errs = append(errs, &UnsupportedError{Kind: "service", Name: s.Name, Field: field,
			Reason: reason})
	}
	volumes := make([]types.ServiceVolumeConfig, len(s.Volumes))
	for i, v := range s.Volumes {
		switch {
		case v.Type == types.VolumeTypeVolume && v.Source == "":
			refuse(fmt.Sprintf("volumes[%d]: anonymous volume %s", i, v.Target),
				"name it in the top-level `volumes` so that it is labelled and can be purged")
		case v.Type == types.VolumeTypeBind:
			refuse(fmt.Sprintf("volumes[%d].type: bind", i),
				"stacks must not touch host paths; use a named volume")
		case v.Type != types.VolumeTypeVolume && v.Type != types.VolumeTypeTmpfs:
			refuse(fmt.Sprintf("volumes[%d].type: %s", i, v.Type),
				"use a named volume or a tmpfs")
		default:
			volumes[i] = v
		}
	}
	s.Volumes = volumes
	// depends_on is accepted as a statement of start order only, as `docker stack deploy`
	// treats it: Swarm starts every service at once and restarts tasks that fail until what
	// they need answers. A condition promising more (healthy, completed) is refused. The
	// loader turns `links` into dependencies; `links` itself is refused below, once.
	dependsOn := types.DependsOnConfig{}
	for _, dep := range sortedKeys(s.DependsOn) {
		if slices.ContainsFunc(s.Links, func(l string) bool { return strings.Split(l, ":")[0] == dep }) {
			continue
		}
		dependsOn[dep] = s.DependsOn[dep]
		switch c := s.DependsOn[dep].Condition; c {
		case "", types.ServiceConditionStarted:
		default:
			refuse(fmt.Sprintf("depends_on.%s.condition: %s", dep, c),
				"Swarm starts every service at once; a service must wait for what it needs itself")
		}
	}
	s.DependsOn = dependsOn
	if s.Deploy != nil {
		switch m := s.Deploy.Mode; m {
		case "replicated-job", "global-job":
			refuse("deploy.mode: "+m, "a stack runs long-lived services only")
		}
	}
	return append(errs, checkAttributes("service", s.Name, s, serviceAttributes)...)
}

func checkNetwork(key string, n types.NetworkConfig) []error {
	if n.External {
		return checkAttributes("network", key, n, externalAttributes)
	}
	errs := checkAttributes("network", key, n, networkAttributes)
	if n.Driver != "" && n.Driver != "overlay" {
		errs = append(errs, &UnsupportedError{Kind: "network", Name: key,
			Field: "driver: " + n.Driver, Reason: "a stack's networks span the swarm: overlay"})
	}
	return errs
}

func checkVolume(key string, v types.VolumeConfig) []error {
	if v.External {
		return checkAttributes("volume", key, v, externalAttributes)
	}
	errs := checkAttributes("volume", key, v, volumeAttributes)
	if v.Driver != "" && v.Driver != "local" {
		errs = append(errs, &UnsupportedError{Kind: "volume", Name: key,
			Field: "driver: " + v.Driver, Reason: "stacks get plain local volumes"})
	}
	return errs
}

func checkFileObject(kind, key string, o types.FileObjectConfig) []error {
	if o.External {
		return checkAttributes(kind, key, o, externalAttributes)
	}
	errs := checkAttributes(kind, key, o, fileObjectAttributes)
	if o.File == "" && o.Environment == "" && o.Content == "" {
		errs = append(errs, fmt.Errorf("%s %q: no data: set file, environment or content", kind, key))
	}
	return errs
}

// sortedKeys gives deterministic iteration, hence deterministic errors and output.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
