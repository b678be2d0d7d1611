package convert

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// ErrUnsupported matches (errors.Is) every *UnsupportedError, so callers can tell a template
// that asks for something the runtime does not do from any other failure.
var ErrUnsupported = errors.New("not supported by the Swarm runtime")

// UnsupportedError names a compose attribute that the Swarm runtime refuses rather than
// silently ignores, with the object it was found on, so the template author knows exactly
// what to remove.
type UnsupportedError struct {
	// Kind is "service", "network", "volume", "secret" or "config"; empty for the project.
	Kind string
	// Name is the object's key in the compose file.
	Name string
	// Field is the attribute's path in the compose file ("deploy.resources.limits.devices",
	// "volumes[1].type: bind"), with list indexes and map keys filled in.
	Field string
	// Reason says why, when the field name alone would not.
	Reason string
}

// Error reads "service "api": "privileged" is not supported by the Swarm runtime: reason".
func (e *UnsupportedError) Error() string {
	var b strings.Builder
	if e.Kind != "" {
		fmt.Fprintf(&b, "%s %q: ", e.Kind, e.Name)
	}
	fmt.Fprintf(&b, "%q is not supported by the Swarm runtime", e.Field)
	if e.Reason != "" {
		b.WriteString(": ")
		b.WriteString(e.Reason)
	}
	return b.String()
}

// Unwrap makes errors.Is(err, ErrUnsupported) true.
func (e *UnsupportedError) Unwrap() error { return ErrUnsupported }

// The attribute lists below are the compose attributes this package converts, as paths of
// YAML keys; "*" stands for a map key (a network or a dependency name) and list elements share
// their list's path. A path allows everything under it. Anything set and not listed is
// refused, so an attribute that a newer compose-go learns is refused until it is converted.
// The reasons explain the refusals a template author is most likely to meet.
var (
	serviceAttributes = newAllowList([]string{
		"name", // the service's key, filled in by the loader
		"image", "command", "entrypoint", "environment", "labels", "user", "working_dir",
		"hostname", "stop_grace_period", "stop_signal", "init", "read_only", "tty",
		"stdin_open", "cap_drop", "dns", "dns_search", "dns_opt", "extra_hosts", "ulimits",
		"logging.driver", "logging.options", "restart", "scale",
		"healthcheck.test", "healthcheck.timeout", "healthcheck.interval",
		"healthcheck.retries", "healthcheck.start_period", "healthcheck.disable",
		"volumes.type", "volumes.source", "volumes.target", "volumes.read_only",
		"volumes.volume.nocopy", "volumes.tmpfs.size", "volumes.tmpfs.mode",
		"secrets.source", "secrets.target", "secrets.uid", "secrets.gid", "secrets.mode",
		"configs.source", "configs.target", "configs.uid", "configs.gid", "configs.mode",
		"networks.*.aliases",
		"ports.target", "ports.published", "ports.protocol", "ports.mode",
		"depends_on.*.condition", "depends_on.*.required",
		"deploy.mode", "deploy.replicas", "deploy.labels", "deploy.endpoint_mode",
		"deploy.update_config.parallelism", "deploy.update_config.delay",
		"deploy.update_config.failure_action", "deploy.update_config.monitor",
		"deploy.update_config.max_failure_ratio", "deploy.update_config.order",
		"deploy.rollback_config.parallelism", "deploy.rollback_config.delay",
		"deploy.rollback_config.failure_action", "deploy.rollback_config.monitor",
		"deploy.rollback_config.max_failure_ratio", "deploy.rollback_config.order",
		"deploy.resources.limits.cpus", "deploy.resources.limits.memory",
		"deploy.resources.limits.pids",
		"deploy.resources.reservations.cpus", "deploy.resources.reservations.memory",
		"deploy.restart_policy.condition", "deploy.restart_policy.delay",
		"deploy.restart_policy.max_attempts", "deploy.restart_policy.window",
		"deploy.placement.constraints", "deploy.placement.preferences.spread",
		"deploy.placement.max_replicas_per_node",
	}, map[string]string{
		"build":                                 "images are built before deploying; reference a built image",
		"privileged":                            hostPrivileges,
		"cap_add":                               hostPrivileges,
		"devices":                               hostDevices,
		"device_cgroup_rules":                   hostDevices,
		"gpus":                                  hostDevices,
		"pid":                                   hostNamespaces,
		"ipc":                                   hostNamespaces,
		"uts":                                   hostNamespaces,
		"userns_mode":                           hostNamespaces,
		"cgroup":                                hostNamespaces,
		"cgroup_parent":                         hostPrivileges,
		"security_opt":                          hostPrivileges,
		"sysctls":                               "backend stacks do not tune the kernel",
		"network_mode":                          "attach services to overlay networks with `networks`",
		"links":                                 "services reach each other by name on a shared network",
		"external_links":                        "services reach each other by name on a shared network",
		"container_name":                        "Swarm names tasks itself",
		"extends":                               "load the stack with extends resolved",
		"env_file":                              "the file would be read on the control plane host; use `environment`",
		"label_file":                            "the file would be read on the control plane host; use `labels`",
		"tmpfs":                                 "use a `volumes` entry of type tmpfs",
		"expose":                                "it has no effect: every port is reachable on a shared network",
		"cpus":                                  "use deploy.resources.limits.cpus",
		"mem_limit":                             "use deploy.resources.limits.memory",
		"mem_reservation":                       "use deploy.resources.reservations.memory",
		"pids_limit":                            "use deploy.resources.limits.pids",
		"pull_policy":                           "every node pulls the image it runs",
		"platform":                              "use a deploy.placement constraint on node.platform",
		"healthcheck.start_interval":            needsAPI("1.44"),
		"volumes.volume.subpath":                needsAPI("1.45"),
		"volumes.volume.labels":                 "label the volume in the top-level `volumes`",
		"deploy.resources.limits.devices":       hostDevices,
		"deploy.resources.reservations.devices": hostDevices,
		"networks.*.ipv4_address":               "Swarm assigns task addresses itself",
		"networks.*.ipv6_address":               "Swarm assigns task addresses itself",
		"ports.host_ip":                         "Swarm publishes on every address of the node",
		"depends_on.*.restart":                  "Swarm never restarts a service because another one changed",
	})
	networkAttributes = newAllowList([]string{
		"name", "driver", "driver_opts", "external", "internal", "attachable", "labels",
	}, map[string]string{
		"ipam":        "Swarm allocates overlay subnets itself",
		"enable_ipv4": needsAPI("1.47"),
	})
	volumeAttributes = newAllowList([]string{"name", "driver", "external", "labels"},
		map[string]string{
			"driver_opts": "driver options can mount host paths; stacks get plain local volumes",
		})
	// fileObjectAttributes covers both secrets and configs.
	fileObjectAttributes = newAllowList([]string{
		"name", "file", "environment", "content", "external", "labels",
	}, map[string]string{
		"driver":          "Swarm stores the data itself",
		"driver_opts":     "Swarm stores the data itself",
		"template_driver": "the data is stored as given; render it before deploying",
	})
	// externalAttributes is all an external object may say: where to find it. Anything else
	// would describe an object the stack does not create.
	externalAttributes = newAllowList([]string{"name", "external"}, map[string]string{
		"": "an external object is only referenced, never created by the stack",
	})
)

const (
	hostPrivileges = "backend stacks get no host privileges"
	hostDevices    = "backend stacks get no host devices"
	hostNamespaces = "backend stacks do not share host namespaces"
)

func needsAPI(version string) string {
	return "it needs Engine API " + version + " and Backpack supports Engine 20.10 (API 1.41) and later"
}

// allowList is a set of allowed attribute paths plus every proper prefix of them, which the
// walk descends into, and the reasons given for refusing others.
type allowList struct {
	leaves  map[string]bool
	parents map[string]bool
	reasons map[string]string
}

func newAllowList(paths []string, reasons map[string]string) allowList {
	a := allowList{leaves: map[string]bool{}, parents: map[string]bool{}, reasons: reasons}
	for _, p := range paths {
		a.leaves[p] = true
		for i := strings.LastIndexByte(p, '.'); i > 0; i = strings.LastIndexByte(p[:i], '.') {
			a.parents[p[:i]] = true
		}
	}
	return a
}

// unsupportedFields walks v (a compose-go struct) and returns the display paths of every
// attribute that is set (not the zero value) but not allowed, in field order.
func unsupportedFields(v any, allowed allowList) []field {
	var out []field
	walkStruct(reflect.ValueOf(v), "", "", allowed, &out)
	return out
}

// field is one refused attribute: pattern is its allow-list path ("networks.*.ipv4_address"),
// display the same with the keys and indexes of this file ("networks.internal.ipv4_address").
type field struct {
	pattern, display string
}

func walkStruct(v reflect.Value, pattern, display string, allowed allowList, out *[]field) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		name, inline, skip := attributeName(t.Field(i))
		fv := v.Field(i)
		switch {
		case skip:
		case inline:
			walkStruct(fv, pattern, display, allowed, out)
		case !fv.IsZero():
			walkValue(fv, join(pattern, name), join(display, name), allowed, out)
		}
	}
}

// attributeName is a struct field's compose key. Embedded specs (ContainerSpec,
// WorkloadSpec) are inline: they share their parent's keys. Skipped are fields that are not
// part of the file (yaml:"-", set by tools) and `x-*` extensions, which compose leaves to tools
// to interpret.
func attributeName(f reflect.StructField) (name string, inline, skip bool) {
	if !f.IsExported() {
		return "", false, true
	}
	name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if strings.Contains(","+opts+",", ",inline,") {
		return "", name == "" && f.Type.Kind() == reflect.Struct, name != "" || f.Type.Kind() != reflect.Struct
	}
	if name == "-" || strings.HasPrefix(name, "#") {
		return "", false, true
	}
	if name == "" {
		name, _, _ = strings.Cut(f.Tag.Get("json"), ",")
	}
	if name == "" || name == "-" {
		name = strings.ToLower(f.Name)
	}
	return name, false, false
}

func walkValue(v reflect.Value, pattern, display string, allowed allowList, out *[]field) {
	if allowed.leaves[pattern] {
		return
	}
	if !allowed.parents[pattern] {
		*out = append(*out, field{pattern: pattern, display: display})
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkValue(v.Elem(), pattern, display, allowed, out)
		}
	case reflect.Struct:
		walkStruct(v, pattern, display, allowed, out)
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			if e := v.Index(i); !e.IsZero() {
				walkValue(e, pattern, fmt.Sprintf("%s[%d]", display, i), allowed, out)
			}
		}
	case reflect.Map:
		keys := make([]string, 0, v.Len())
		values := map[string]reflect.Value{}
		for it := v.MapRange(); it.Next(); {
			k := fmt.Sprint(it.Key().Interface())
			keys = append(keys, k)
			values[k] = it.Value()
		}
		sort.Strings(keys)
		for _, k := range keys {
			if e := values[k]; !e.IsZero() {
				walkValue(e, pattern+".*", display+"."+k, allowed, out)
			}
		}
	default:
		*out = append(*out, field{pattern: pattern, display: display})
	}
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// reason explains the refusal of the attribute at pattern by the closest entry: its own, a
// parent's, or the list's catch-all "".
func (a allowList) reason(pattern string) string {
	for p := pattern; ; {
		if r, ok := a.reasons[p]; ok {
			return r
		}
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			return a.reasons[""]
		}
		p = p[:i]
	}
}

// checkAttributes refuses every attribute of v (a service, network, volume, secret or config
// definition) that allowed does not list.
func checkAttributes(kind, name string, v any, allowed allowList) []error {
	var errs []error
	for _, f := range unsupportedFields(v, allowed) {
		errs = append(errs, &UnsupportedError{
			Kind: kind, Name: name, Field: f.display, Reason: allowed.reason(f.pattern),
		})
	}
	return errs
}
