package convert

import (
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/docker/api/types/swarm"
)

// serviceMode is replicated (replicas, from deploy.replicas or scale, default 1) or global.
// The replica count is always explicit so that the desired spec says what will run.
func serviceMode(s types.ServiceConfig, d *types.DeployConfig) (swarm.ServiceMode, error) {
	replicas := d.Replicas
	if replicas == nil {
		replicas = s.Scale
	}
	switch d.Mode {
	case "", "replicated":
		n := uint64(1)
		if replicas != nil {
			if *replicas < 0 {
				return swarm.ServiceMode{}, fmt.Errorf("deploy.replicas: %d is negative", *replicas)
			}
			n = uint64(*replicas)
		}
		return swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &n}}, nil
	case "global":
		if replicas != nil {
			return swarm.ServiceMode{}, errors.New("deploy.replicas: a global service runs one task per node")
		}
		return swarm.ServiceMode{Global: &swarm.GlobalService{}}, nil
	default:
		return swarm.ServiceMode{}, fmt.Errorf("deploy.mode: %q is not replicated or global", d.Mode)
	}
}

// endpointSpec resolves the service by VIP (the engine's default, made explicit) or by DNS
// round robin, and publishes ports, sorted. Ingress ports need VIP: the engine would refuse
// them with dnsrr, which machines without IPVS need, so that is reported here with the fix.
func endpointSpec(mode string, ports []types.ServicePortConfig) (*swarm.EndpointSpec, error) {
	out := &swarm.EndpointSpec{}
	switch strings.ToLower(mode) {
	case "", "vip":
		out.Mode = swarm.ResolutionModeVIP
	case "dnsrr":
		out.Mode = swarm.ResolutionModeDNSRR
	default:
		return nil, fmt.Errorf("deploy.endpoint_mode: %q is not vip or dnsrr", mode)
	}
	var errs []error
	for i, p := range ports {
		pc := swarm.PortConfig{
			TargetPort:  p.Target,
			Protocol:    swarm.PortConfigProtocol(strings.ToLower(p.Protocol)),
			PublishMode: swarm.PortConfigPublishMode(strings.ToLower(p.Mode)),
		}
		if pc.Protocol == "" {
			pc.Protocol = swarm.PortConfigProtocolTCP
		}
		if pc.PublishMode == "" {
			pc.PublishMode = swarm.PortConfigPublishModeIngress
		}
		if p.Published != "" {
			n, err := strconv.ParseUint(p.Published, 10, 16)
			if err != nil {
				errs = append(errs, fmt.Errorf("ports[%d].published: %q is not a port number", i, p.Published))
				continue
			}
			pc.PublishedPort = uint32(n)
		}
		switch {
		case p.Target == 0:
			errs = append(errs, fmt.Errorf("ports[%d].target: missing", i))
		case pc.Protocol != swarm.PortConfigProtocolTCP && pc.Protocol != swarm.PortConfigProtocolUDP &&
			pc.Protocol != swarm.PortConfigProtocolSCTP:
			errs = append(errs, fmt.Errorf("ports[%d].protocol: %q is not tcp, udp or sctp", i, p.Protocol))
		case pc.PublishMode != swarm.PortConfigPublishModeIngress &&
			pc.PublishMode != swarm.PortConfigPublishModeHost:
			errs = append(errs, fmt.Errorf("ports[%d].mode: %q is not ingress or host", i, p.Mode))
		case pc.PublishMode == swarm.PortConfigPublishModeIngress && out.Mode == swarm.ResolutionModeDNSRR:
			errs = append(errs, fmt.Errorf("ports[%d]: port %d is published in ingress mode, "+
				"which needs endpoint_mode vip; with dnsrr, publish it with mode: host", i, p.Target))
		}
		out.Ports = append(out.Ports, pc)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.SortFunc(out.Ports, func(a, b swarm.PortConfig) int {
		if c := int(a.PublishedPort) - int(b.PublishedPort); c != 0 {
			return c
		}
		if c := int(a.TargetPort) - int(b.TargetPort); c != 0 {
			return c
		}
		if c := strings.Compare(string(a.Protocol), string(b.Protocol)); c != 0 {
			return c
		}
		return strings.Compare(string(a.PublishMode), string(b.PublishMode))
	})
	return out, nil
}

// restartPolicy takes deploy.restart_policy, or the service's `restart` as `docker stack
// deploy` reads it, except that "no" really means no restart. Both at once would leave one
// ignored, so that is refused.
func restartPolicy(restart string, rp *types.RestartPolicy) (*swarm.RestartPolicy, error) {
	if rp != nil {
		if restart != "" {
			return nil, errors.New(`"restart" and "deploy.restart_policy" are both set; keep deploy.restart_policy`)
		}
		out := &swarm.RestartPolicy{
			Condition: swarm.RestartPolicyCondition(rp.Condition),
			Delay:     duration(rp.Delay),
			Window:    duration(rp.Window),
		}
		switch out.Condition {
		case "", swarm.RestartPolicyConditionNone, swarm.RestartPolicyConditionOnFailure,
			swarm.RestartPolicyConditionAny:
		default:
			return nil, fmt.Errorf("deploy.restart_policy.condition: %q is not none, on-failure or any",
				rp.Condition)
		}
		if rp.MaxAttempts != nil {
			n := *rp.MaxAttempts
			out.MaxAttempts = &n
		}
		return out, nil
	}
	name, count, hasCount := strings.Cut(restart, ":")
	var attempts *uint64
	if hasCount {
		n, err := strconv.ParseUint(count, 10, 64)
		if err != nil || name != types.RestartPolicyOnFailure {
			return nil, fmt.Errorf("restart: %q is not no, always, unless-stopped or on-failure[:N]", restart)
		}
		if n > 0 {
			attempts = &n
		}
	}
	switch name {
	case "":
		return nil, nil
	case types.RestartPolicyNo:
		return &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionNone}, nil
	case types.RestartPolicyAlways, types.RestartPolicyUnlessStopped:
		return &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionAny}, nil
	case types.RestartPolicyOnFailure:
		return &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionOnFailure,
			MaxAttempts: attempts}, nil
	default:
		return nil, fmt.Errorf("restart: %q is not no, always, unless-stopped or on-failure[:N]", restart)
	}
}

// resources converts limits and reservations; CPUs are converted as decimals, so "1.1" is
// exactly 1.1e9 nano CPUs however compose-go stored it.
func resources(r types.Resources) (*swarm.ResourceRequirements, error) {
	if r.Limits == nil && r.Reservations == nil {
		return nil, nil
	}
	out := &swarm.ResourceRequirements{}
	if l := r.Limits; l != nil {
		cpus, err := nanoCPUs("deploy.resources.limits.cpus", l.NanoCPUs)
		if err != nil {
			return nil, err
		}
		if l.MemoryBytes < 0 || l.Pids < 0 {
			return nil, errors.New("deploy.resources.limits: negative value")
		}
		out.Limits = &swarm.Limit{NanoCPUs: cpus, MemoryBytes: int64(l.MemoryBytes), Pids: l.Pids}
	}
	if rs := r.Reservations; rs != nil {
		cpus, err := nanoCPUs("deploy.resources.reservations.cpus", rs.NanoCPUs)
		if err != nil {
			return nil, err
		}
		if rs.MemoryBytes < 0 {
			return nil, errors.New("deploy.resources.reservations.memory: negative value")
		}
		out.Reservations = &swarm.Resources{NanoCPUs: cpus, MemoryBytes: int64(rs.MemoryBytes)}
	}
	return out, nil
}

// nanoCPUs reads compose-go's float32 back as the shortest decimal that denotes it, which is
// what the file said, and scales that exactly.
func nanoCPUs(field string, cpus types.NanoCPUs) (int64, error) {
	if cpus == 0 {
		return 0, nil
	}
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(float64(cpus), 'f', -1, 32))
	if !ok || r.Sign() < 0 {
		return 0, fmt.Errorf("%s: %v is not a positive number", field, float32(cpus))
	}
	r.Mul(r, big.NewRat(1e9, 1))
	if !r.IsInt() || !r.Num().IsInt64() {
		return 0, fmt.Errorf("%s: %v is finer than a nano CPU", field, float32(cpus))
	}
	return r.Num().Int64(), nil
}

// updateConfig converts update_config or rollback_config. Parallelism defaults to 1 as with
// `docker stack deploy` (the engine's 0 would mean all tasks at once).
func updateConfig(field string, u *types.UpdateConfig, update bool) (*swarm.UpdateConfig, error) {
	if u == nil {
		return nil, nil
	}
	out := &swarm.UpdateConfig{
		Parallelism:     1,
		Delay:           time.Duration(u.Delay),
		FailureAction:   u.FailureAction,
		Monitor:         time.Duration(u.Monitor),
		MaxFailureRatio: u.MaxFailureRatio,
		Order:           u.Order,
	}
	if u.Parallelism != nil {
		out.Parallelism = *u.Parallelism
	}
	switch out.FailureAction {
	case "", swarm.UpdateFailureActionPause, swarm.UpdateFailureActionContinue:
	case swarm.UpdateFailureActionRollback:
		if !update {
			return nil, fmt.Errorf("%s.failure_action: a rollback cannot itself roll back", field)
		}
	default:
		return nil, fmt.Errorf("%s.failure_action: %q is not pause, continue or rollback", field, u.FailureAction)
	}
	switch out.Order {
	case "", swarm.UpdateOrderStopFirst, swarm.UpdateOrderStartFirst:
	default:
		return nil, fmt.Errorf("%s.order: %q is not start-first or stop-first", field, u.Order)
	}
	if u.MaxFailureRatio < 0 || u.MaxFailureRatio > 1 {
		return nil, fmt.Errorf("%s.max_failure_ratio: %v is not between 0 and 1", field, u.MaxFailureRatio)
	}
	return out, nil
}

// placement keeps preferences in order (they nest) and sorts constraints (they do not).
func placement(p types.Placement) *swarm.Placement {
	if len(p.Constraints) == 0 && len(p.Preferences) == 0 && p.MaxReplicas == 0 {
		return nil
	}
	out := &swarm.Placement{Constraints: sorted(p.Constraints), MaxReplicas: p.MaxReplicas}
	for _, pref := range p.Preferences {
		out.Preferences = append(out.Preferences,
			swarm.PlacementPreference{Spread: &swarm.SpreadOver{SpreadDescriptor: pref.Spread}})
	}
	return out
}
