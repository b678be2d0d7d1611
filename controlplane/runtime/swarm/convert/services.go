package convert

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/swarm"
)

// Services converts every service of the stack into the spec the runtime creates or updates,
// keyed by its Swarm name (NAMESPACE_SERVICE).
//
// Secret and config references carry names only: the engine wants object IDs too, which the
// runtime fills in with ResolveReferences once the objects exist.
func Services(p *types.Project, namespace string) (map[string]swarm.ServiceSpec, error) {
	if err := check(p, namespace); err != nil {
		return nil, err
	}
	out := make(map[string]swarm.ServiceSpec, len(p.Services))
	var errs []error
	for _, name := range sortedKeys(p.Services) {
		spec, serviceErrs := service(p, namespace, p.Services[name])
		for _, err := range serviceErrs {
			errs = append(errs, fmt.Errorf("service %q: %w", name, err))
		}
		if len(serviceErrs) == 0 {
			out[spec.Name] = spec
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// service converts one service, reporting every value it cannot convert rather than the first.
func service(p *types.Project, namespace string, s types.ServiceConfig) (swarm.ServiceSpec, []error) {
	if s.Image == "" {
		return swarm.ServiceSpec{}, []error{errors.New(`"image" is required`)}
	}
	deploy := s.Deploy
	if deploy == nil {
		deploy = &types.DeployConfig{}
	}
	var errs []error
	collect := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}

	env, err := environment(s.Environment)
	collect(err)
	volumes, err := mounts(p, namespace, s.Volumes)
	collect(err)
	health, err := healthcheck(s.HealthCheck)
	collect(err)
	logDriver, err := logging(s.Logging)
	collect(err)
	mode, err := serviceMode(s, deploy)
	collect(err)
	endpoint, err := endpointSpec(deploy.EndpointMode, s.Ports)
	collect(err)
	restart, err := restartPolicy(s.Restart, deploy.RestartPolicy)
	collect(err)
	limits, err := resources(deploy.Resources)
	collect(err)
	update, err := updateConfig("deploy.update_config", deploy.UpdateConfig, true)
	collect(err)
	rollback, err := updateConfig("deploy.rollback_config", deploy.RollbackConfig, false)
	collect(err)
	if len(errs) > 0 {
		return swarm.ServiceSpec{}, errs
	}

	labels := withNamespace(namespace, deploy.Labels)
	labels[LabelImage] = s.Image
	return swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: scope(namespace, s.Name), Labels: labels},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{
				Image:           s.Image,
				Labels:          withNamespace(namespace, s.Labels),
				Command:         list(s.Entrypoint),
				Args:            list(s.Command),
				Hostname:        s.Hostname,
				Env:             env,
				Dir:             s.WorkingDir,
				User:            s.User,
				Init:            s.Init,
				StopSignal:      s.StopSignal,
				TTY:             s.Tty,
				OpenStdin:       s.StdinOpen,
				ReadOnly:        s.ReadOnly,
				Mounts:          volumes,
				StopGracePeriod: duration(s.StopGracePeriod),
				Healthcheck:     health,
				Hosts:           hosts(s.ExtraHosts),
				DNSConfig:       dnsConfig(s),
				Secrets:         secretReferences(p, namespace, s),
				Configs:         configReferences(p, namespace, s),
				CapabilityDrop:  sorted(s.CapDrop),
				Ulimits:         ulimits(s.Ulimits),
			},
			Resources:     limits,
			RestartPolicy: restart,
			Placement:     placement(deploy.Placement),
			Networks:      networkAttachments(p, namespace, s),
			LogDriver:     logDriver,
		},
		Mode:           mode,
		UpdateConfig:   update,
		RollbackConfig: rollback,
		EndpointSpec:   endpoint,
	}, nil
}

// environment is the service's variables as KEY=VALUE, sorted by key. A variable without a
// value would mean "take it from the client's environment", which a Swarm task does not have:
// it is almost always a variable the control plane forgot to pass, so it is refused.
func environment(env types.MappingWithEquals) ([]string, error) {
	var out, missing []string
	for _, k := range sortedKeys(env) {
		if env[k] == nil {
			missing = append(missing, k)
			continue
		}
		out = append(out, k+"="+*env[k])
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("environment variables without a value: %s",
			strings.Join(missing, ", "))
	}
	return out, nil
}

// healthcheck keeps the test as written; `disable: true` becomes the engine's NONE test so
// that the image's own health check is switched off too.
func healthcheck(h *types.HealthCheckConfig) (*container.HealthConfig, error) {
	if h == nil {
		return nil, nil
	}
	if h.Disable {
		if len(h.Test) > 0 && !(len(h.Test) == 1 && h.Test[0] == "NONE") {
			return nil, errors.New("healthcheck: test and disable are both set")
		}
		return &container.HealthConfig{Test: []string{"NONE"}}, nil
	}
	out := &container.HealthConfig{Test: list(h.Test)}
	if h.Interval != nil {
		out.Interval = time.Duration(*h.Interval)
	}
	if h.Timeout != nil {
		out.Timeout = time.Duration(*h.Timeout)
	}
	if h.StartPeriod != nil {
		out.StartPeriod = time.Duration(*h.StartPeriod)
	}
	if h.Retries != nil {
		out.Retries = int(*h.Retries)
	}
	return out, nil
}

func logging(l *types.LoggingConfig) (*swarm.Driver, error) {
	if l == nil || (l.Driver == "" && len(l.Options) == 0) {
		return nil, nil
	}
	if l.Driver == "" {
		return nil, errors.New("logging: options are set but no driver")
	}
	d := &swarm.Driver{Name: l.Driver}
	if len(l.Options) > 0 {
		d.Options = map[string]string(l.Options)
	}
	return d, nil
}

// hosts is extra_hosts in /etc/hosts order ("IP name"), which is what Swarm expects, sorted
// by name.
func hosts(h types.HostsList) []string {
	var out []string
	for _, name := range sortedKeys(h) {
		for _, ip := range h[name] {
			out = append(out, ip+" "+name)
		}
	}
	return out
}

func dnsConfig(s types.ServiceConfig) *swarm.DNSConfig {
	if len(s.DNS) == 0 && len(s.DNSSearch) == 0 && len(s.DNSOpts) == 0 {
		return nil
	}
	return &swarm.DNSConfig{
		Nameservers: list(s.DNS),
		Search:      list(s.DNSSearch),
		Options:     list(s.DNSOpts),
	}
}

// ulimits are sorted by name; a single value sets both the soft and the hard limit.
func ulimits(u map[string]*types.UlimitsConfig) []*container.Ulimit {
	var out []*container.Ulimit
	for _, name := range sortedKeys(u) {
		l := u[name]
		if l == nil {
			continue
		}
		soft, hard := int64(l.Soft), int64(l.Hard)
		if l.Single != 0 {
			soft, hard = int64(l.Single), int64(l.Single)
		}
		out = append(out, &container.Ulimit{Name: name, Soft: soft, Hard: hard})
	}
	return out
}

func duration(d *types.Duration) *time.Duration {
	if d == nil {
		return nil
	}
	v := time.Duration(*d)
	return &v
}

// list copies a list so that specs never alias the project; empty becomes nil, as the
// engine reports it.
func list[S ~[]string](s S) []string {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone([]string(s))
}

func sorted[S ~[]string](s S) []string {
	out := list(s)
	slices.Sort(out)
	return out
}
