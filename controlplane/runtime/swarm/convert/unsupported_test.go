package convert

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

// svc is a stack with one service "svc" whose attributes follow; top-level sections can be
// appended after them.
func svc(body string) string {
	return "services:\n  svc:\n    image: img\n" + body
}

const notSupported = " is not supported by the Swarm runtime"

func TestUnsupportedAttributesAreRefused(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // every line of the error, in order
	}{
		{"privileged", svc("    privileged: true\n"),
			[]string{`service "svc": "privileged"` + notSupported + ": backend stacks get no host privileges"}},
		{"cap_add", svc("    cap_add: [NET_ADMIN]\n"),
			[]string{`service "svc": "cap_add"` + notSupported + ": backend stacks get no host privileges"}},
		{"devices", svc("    devices: ['/dev/fuse:/dev/fuse']\n"),
			[]string{`service "svc": "devices"` + notSupported + ": backend stacks get no host devices"}},
		{"network_mode host", svc("    network_mode: host\n"),
			[]string{`service "svc": "network_mode"` + notSupported + ": attach services to overlay networks with `networks`"}},
		{"pid", svc("    pid: host\n"),
			[]string{`service "svc": "pid"` + notSupported + ": backend stacks do not share host namespaces"}},
		{"ipc", svc("    ipc: host\n"),
			[]string{`service "svc": "ipc"` + notSupported + ": backend stacks do not share host namespaces"}},
		{"links", svc("    links: [other]\n  other:\n    image: img\n"),
			[]string{`service "svc": "links"` + notSupported + ": services reach each other by name on a shared network"}},
		{"container_name", svc("    container_name: fixed\n"),
			[]string{`service "svc": "container_name"` + notSupported + ": Swarm names tasks itself"}},
		{"build", svc("    build: .\n"),
			[]string{`service "svc": "build"` + notSupported + ": images are built before deploying; reference a built image"}},
		{"sysctls", svc("    sysctls: {net.data.somaxconn: 1024}\n"),
			[]string{`service "svc": "sysctls"` + notSupported + ": backend stacks do not tune the kernel"}},
		{"cgroup_parent", svc("    cgroup_parent: /x\n"),
			[]string{`service "svc": "cgroup_parent"` + notSupported + ": backend stacks get no host privileges"}},
		{"profiles", svc("  extra:\n    image: img\n    profiles: [debug]\n"),
			[]string{`service "extra": "profiles"` + notSupported + ": every service of a stack is deployed; this one would be left out"}},
		{"env_file", svc("    env_file: [{path: ./missing.env, required: false}]\n"),
			[]string{`service "svc": "env_file"` + notSupported + ": the file would be read on the control plane host; use `environment`"}},
		{"service tmpfs", svc("    tmpfs: [/run]\n"),
			[]string{`service "svc": "tmpfs"` + notSupported + ": use a `volumes` entry of type tmpfs"}},
		{"expose", svc("    expose: ['3000']\n"),
			[]string{`service "svc": "expose"` + notSupported + ": it has no effect: every port is reachable on a shared network"}},
		{"mem_limit", svc("    mem_limit: 1g\n"),
			[]string{`service "svc": "mem_limit"` + notSupported + ": use deploy.resources.limits.memory"}},
		{"attribute without a reason", svc("    stop_signal: SIGINT\n    oom_score_adj: 100\n"),
			[]string{`service "svc": "oom_score_adj"` + notSupported}},
		{"bind mount", svc("    volumes: ['./site:/srv', '/var/run/docker.sock:/var/run/docker.sock']\n"),
			[]string{
				`service "svc": "volumes[0].type: bind"` + notSupported + ": stacks must not touch host paths; use a named volume",
				`service "svc": "volumes[1].type: bind"` + notSupported + ": stacks must not touch host paths; use a named volume",
			}},
		{"anonymous volume", svc("    volumes: [/cache]\n"),
			[]string{`service "svc": "volumes[0]: anonymous volume /cache"` + notSupported +
				": name it in the top-level `volumes` so that it is labelled and can be purged"}},
		{"volume subpath", svc("    volumes: [{type: volume, source: data, target: /d, volume: {subpath: x}}]\nvolumes:\n  data:\n"),
			[]string{`service "svc": "volumes[0].volume.subpath"` + notSupported +
				": it needs Engine API 1.45 and Backpack supports Engine 20.10 (API 1.41) and later"}},
		{"healthcheck start_interval", svc("    healthcheck: {test: [CMD, x], start_interval: 1s}\n"),
			[]string{`service "svc": "healthcheck.start_interval"` + notSupported +
				": it needs Engine API 1.44 and Backpack supports Engine 20.10 (API 1.41) and later"}},
		{"network ipv4_address", svc("    networks: {n: {ipv4_address: 10.5.0.5}}\nnetworks:\n  n:\n"),
			[]string{`service "svc": "networks.n.ipv4_address"` + notSupported + ": Swarm assigns task addresses itself"}},
		{"port host_ip", svc("    ports: ['127.0.0.1:8080:80']\n"),
			[]string{`service "svc": "ports[0].host_ip"` + notSupported + ": Swarm publishes on every address of the node"}},
		{"depends_on condition", svc("    depends_on: {db: {condition: service_healthy}}\n  db:\n    image: img\n"),
			[]string{`service "svc": "depends_on.db.condition: service_healthy"` + notSupported +
				": Swarm starts every service at once; a service must wait for what it needs itself"}},
		{"depends_on restart", svc("    depends_on: {db: {condition: service_started, restart: true}}\n  db:\n    image: img\n"),
			[]string{`service "svc": "depends_on.db.restart"` + notSupported +
				": Swarm never restarts a service because another one changed"}},
		{"job mode", svc("    deploy: {mode: replicated-job}\n"),
			[]string{`service "svc": "deploy.mode: replicated-job"` + notSupported + ": a stack runs long-lived services only"}},
		{"reserved devices", svc("    deploy: {resources: {reservations: {devices: [{capabilities: [gpu]}]}}}\n"),
			[]string{`service "svc": "deploy.resources.reservations.devices"` + notSupported + ": backend stacks get no host devices"}},
		{"generic resources", svc("    deploy: {resources: {reservations: {generic_resources: [{discrete_resource_spec: {kind: gpu, value: 1}}]}}}\n"),
			[]string{`service "svc": "deploy.resources.reservations.generic_resources"` + notSupported}},
		{"several at once, in order", svc("    privileged: true\n    cap_add: [ALL]\n    pid: host\n"),
			[]string{
				`service "svc": "cap_add"` + notSupported + ": backend stacks get no host privileges",
				`service "svc": "pid"` + notSupported + ": backend stacks do not share host namespaces",
				`service "svc": "privileged"` + notSupported + ": backend stacks get no host privileges",
			}},
		{"network driver", svc("    networks: [n]\nnetworks:\n  n: {driver: bridge}\n"),
			[]string{`network "n": "driver: bridge"` + notSupported + ": a stack's networks span the swarm: overlay"}},
		{"network ipam", svc("    networks: [n]\nnetworks:\n  n: {ipam: {config: [{subnet: 10.9.0.0/24}]}}\n"),
			[]string{`network "n": "ipam"` + notSupported + ": Swarm allocates overlay subnets itself"}},
		{"external network with options", svc("    networks: [pub]\nnetworks:\n  pub: {external: true, name: backpack_public, internal: true}\n"),
			[]string{`network "pub": "internal"` + notSupported + ": an external object is only referenced, never created by the stack"}},
		{"volume driver", svc("volumes:\n  data: {driver: nfs}\n"),
			[]string{`volume "data": "driver: nfs"` + notSupported + ": stacks get plain local volumes"}},
		{"volume driver_opts", svc("volumes:\n  data: {driver_opts: {type: none, o: bind, device: /srv}}\n"),
			[]string{`volume "data": "driver_opts"` + notSupported + ": driver options can mount host paths; stacks get plain local volumes"}},
		{"secret template_driver", svc("secrets:\n  s: {environment: S, template_driver: golang}\n"),
			[]string{`secret "s": "template_driver"` + notSupported + ": the data is stored as given; render it before deploying"}},
		{"secret driver", svc("secrets:\n  s: {environment: S, driver: vault}\n"),
			[]string{`secret "s": "driver"` + notSupported + ": Swarm stores the data itself"}},
		{"config template_driver", svc("configs:\n  c: {content: x, template_driver: golang}\n"),
			[]string{`config "c": "template_driver"` + notSupported + ": the data is stored as given; render it before deploying"}},
		{"external config with labels", svc("configs:\n  c: {external: true, labels: {a: b}}\n"),
			[]string{`config "c": "labels"` + notSupported + ": an external object is only referenced, never created by the stack"}},
		{"jobs", svc("jobs:\n  migrate:\n    image: img\n    triggers: {manual: true}\n"),
			[]string{`"jobs"` + notSupported + ": a stack runs long-lived services only"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := load(t, tt.yaml, map[string]string{"S": "x"})
			_, err := Services(p, testNamespace)
			if got := errorLines(err); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
			if !errors.Is(err, ErrUnsupported) {
				t.Errorf("errors.Is(err, ErrUnsupported) is false for %v", err)
			}
			// Every conversion refuses the stack the same way, whichever the runtime calls.
			_, nerr := Networks(p, testNamespace)
			_, verr := Volumes(p, testNamespace)
			_, serr := Secrets(p, testNamespace, InlineData(p.Environment))
			_, cerr := Configs(p, testNamespace, InlineData(p.Environment))
			for _, e := range []error{nerr, verr, serr, cerr, Validate(p, testNamespace)} {
				if e == nil || e.Error() != err.Error() {
					t.Errorf("another conversion said %v", e)
				}
			}
		})
	}
}

func TestUnsupportedErrorFields(t *testing.T) {
	_, err := Services(load(t, svc("    networks: {n: {ipv4_address: 10.5.0.5}}\nnetworks:\n  n:\n"), nil), testNamespace)
	var u *UnsupportedError
	if !errors.As(err, &u) {
		t.Fatalf("%v is not an *UnsupportedError", err)
	}
	want := UnsupportedError{Kind: "service", Name: "svc", Field: "networks.n.ipv4_address",
		Reason: "Swarm assigns task addresses itself"}
	equal(t, "error", *u, want)
}

// TestEveryAllowedPathExists guards the allow-lists against compose-go's model: a listed path
// that names no attribute (a typo, a renamed field) would leave the real attribute refused.
func TestEveryAllowedPathExists(t *testing.T) {
	for _, c := range []struct {
		list  allowList
		model any
	}{
		{serviceAttributes, types.ServiceConfig{}},
		{networkAttributes, types.NetworkConfig{}},
		{volumeAttributes, types.VolumeConfig{}},
		{fileObjectAttributes, types.FileObjectConfig{}},
		{externalAttributes, types.NetworkConfig{}},
	} {
		paths := map[string]bool{}
		modelPaths(reflect.TypeOf(c.model), "", paths)
		for p := range c.list.leaves {
			if !paths[p] {
				t.Errorf("%T: allowed attribute %q is not in compose-go's model", c.model, p)
			}
		}
		for p := range c.list.reasons {
			if p != "" && !paths[p] {
				t.Errorf("%T: the reason for %q names no attribute of compose-go's model", c.model, p)
			}
		}
	}
}

// modelPaths collects every attribute path of a compose-go type, as the allow-lists spell them.
func modelPaths(t reflect.Type, prefix string, out map[string]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Map:
		if prefix != "" {
			modelPaths(t.Elem(), prefix+".*", out)
		}
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			name, inline, skip := attributeName(t.Field(i))
			switch {
			case skip:
			case inline:
				modelPaths(t.Field(i).Type, prefix, out)
			default:
				out[join(prefix, name)] = true
				modelPaths(t.Field(i).Type, join(prefix, name), out)
			}
		}
	}
}

func TestProjectAndNamespaceMustMatch(t *testing.T) {
	p := load(t, svc(""), nil)
	_, err := Services(p, "blog")
	want := `convert: project "shop" loaded under another name than the stack "blog": load it with the stack's name as project name`
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
	if _, err := Networks(p, ""); err == nil || err.Error() != "convert: empty namespace" {
		t.Fatalf("empty namespace: %v", err)
	}
}
