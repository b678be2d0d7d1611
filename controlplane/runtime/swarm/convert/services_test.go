package convert

import (
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/swarm"
)

// fullStack uses every supported service attribute at least once.
const fullStack = `
services:
  api:
    image: backpack-api:${VERSION}
    entrypoint: ["/backpack-api"]
    command: ["serve", "--port", "3000"]
    user: "1000:1000"
    working_dir: /app
    hostname: api-host
    init: true
    read_only: true
    tty: true
    stdin_open: true
    stop_grace_period: 30s
    stop_signal: SIGTERM
    environment:
      PORT: "3000"
      MONGO_URL: mongodb://mongo:27017
      API_KEY_FILE: /run/secrets/api_key
    labels: {com.example.role: api}
    cap_drop: [NET_RAW, ALL]
    ulimits: {nofile: {soft: 1024, hard: 2048}, nproc: 64}
    extra_hosts: ["b.internal=10.0.0.2", "a.internal=10.0.0.1"]
    dns: [10.0.0.53]
    dns_search: [example.internal]
    dns_opt: [ndots:1]
    logging: {driver: json-file, options: {max-size: 10m}}
    healthcheck:
      test: ["CMD", "/backpack-api", "health"]
      interval: 10s
      timeout: 3s
      retries: 5
      start_period: 20s
    volumes:
      - files:/data/files
      - site:/data/site:ro
      - {type: tmpfs, target: /tmp, tmpfs: {size: 64m, mode: 0o1777}}
      - {type: volume, source: shared, target: /shared, volume: {nocopy: true}}
    secrets:
      - api_key
      - {source: admin_token, target: admin, uid: "1000", gid: "1000", mode: 0400}
    configs:
      - {source: app_conf, target: /etc/backpack/app.json}
      - motd
    networks:
      internal: {aliases: [backend]}
      public: {}
      admin:
    ports:
      - {target: 3000, published: 3000, mode: host}
      - {target: 9000, published: "9001", protocol: udp, mode: host}
    depends_on: [mongo]
    deploy:
      mode: replicated
      replicas: 2
      endpoint_mode: dnsrr
      labels: {traefik.enable: "true"}
      update_config:
        parallelism: 2
        delay: 5s
        order: start-first
        failure_action: rollback
        monitor: 30s
        max_failure_ratio: 0.25
      rollback_config: {parallelism: 0, order: stop-first, failure_action: pause}
      restart_policy: {condition: on-failure, delay: 5s, max_attempts: 3, window: 2m}
      resources:
        limits: {cpus: "1.5", memory: 512M, pids: 200}
        reservations: {cpus: "0.25", memory: 128M}
      placement:
        constraints: ["node.role==worker", "node.labels.backpack.shop==true"]
        preferences: [{spread: node.labels.zone}]
        max_replicas_per_node: 1
  mongo:
    image: mongo:7
volumes:
  files:
  site: {labels: {com.example.kind: site}}
  shared: {external: true, name: backpack_shared}
networks:
  internal: {internal: true}
  public: {external: true, name: backpack_public}
  admin: {external: true, name: backpack_admin}
secrets:
  api_key: {environment: API_KEY}
  admin_token: {environment: ADMIN_TOKEN}
configs:
  app_conf: {content: '{"a":1}'}
  motd: {content: hello}
`

var fullEnv = map[string]string{"VERSION": "1.2.3", "API_KEY": "k", "ADMIN_TOKEN": "t"}

func TestServicesConvertsEveryAttribute(t *testing.T) {
	specs, err := Services(load(t, fullStack, fullEnv), testNamespace)
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 2 {
		t.Fatalf("got %d specs, want shop_api and shop_mongo", len(specs))
	}
	ns := map[string]string{LabelNamespace: "shop"}
	want := swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: "shop_api", Labels: map[string]string{
			LabelNamespace: "shop", LabelImage: "backpack-api:1.2.3", "traefik.enable": "true",
		}},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{
				Image:    "backpack-api:1.2.3",
				Labels:   map[string]string{LabelNamespace: "shop", "com.example.role": "api"},
				Command:  []string{"/backpack-api"},
				Args:     []string{"serve", "--port", "3000"},
				Hostname: "api-host",
				Env: []string{
					"API_KEY_FILE=/run/secrets/api_key", "MONGO_URL=mongodb://mongo:27017", "PORT=3000",
				},
				Dir:        "/app",
				User:       "1000:1000",
				Init:       ptr(true),
				StopSignal: "SIGTERM",
				TTY:        true,
				OpenStdin:  true,
				ReadOnly:   true,
				Mounts: []mount.Mount{
					{Type: mount.TypeVolume, Source: "shop_files", Target: "/data/files",
						VolumeOptions: &mount.VolumeOptions{Labels: ns}},
					{Type: mount.TypeVolume, Source: "shop_site", Target: "/data/site", ReadOnly: true,
						VolumeOptions: &mount.VolumeOptions{Labels: map[string]string{
							LabelNamespace: "shop", "com.example.kind": "site",
						}}},
					{Type: mount.TypeVolume, Source: "backpack_shared", Target: "/shared",
						VolumeOptions: &mount.VolumeOptions{NoCopy: true}},
					{Type: mount.TypeTmpfs, Target: "/tmp",
						TmpfsOptions: &mount.TmpfsOptions{SizeBytes: 64 << 20, Mode: 0o1777}},
				},
				StopGracePeriod: ptr(30 * time.Second),
				Healthcheck: &container.HealthConfig{
					Test:     []string{"CMD", "/backpack-api", "health"},
					Interval: 10 * time.Second, Timeout: 3 * time.Second,
					StartPeriod: 20 * time.Second, Retries: 5,
				},
				Hosts: []string{"10.0.0.1 a.internal", "10.0.0.2 b.internal"},
				DNSConfig: &swarm.DNSConfig{
					Nameservers: []string{"10.0.0.53"}, Search: []string{"example.internal"},
					Options: []string{"ndots:1"},
				},
				Secrets: []*swarm.SecretReference{
					{SecretName: "shop_admin_token", File: &swarm.SecretReferenceFileTarget{
						Name: "admin", UID: "1000", GID: "1000", Mode: 0o400}},
					{SecretName: "shop_api_key", File: &swarm.SecretReferenceFileTarget{
						Name: "api_key", UID: "0", GID: "0", Mode: 0o444}},
				},
				Configs: []*swarm.ConfigReference{
					{ConfigName: "shop_app_conf", File: &swarm.ConfigReferenceFileTarget{
						Name: "/etc/backpack/app.json", UID: "0", GID: "0", Mode: 0o444}},
					{ConfigName: "shop_motd", File: &swarm.ConfigReferenceFileTarget{
						Name: "/motd", UID: "0", GID: "0", Mode: 0o444}},
				},
				CapabilityDrop: []string{"ALL", "NET_RAW"},
				Ulimits: []*container.Ulimit{
					{Name: "nofile", Soft: 1024, Hard: 2048},
					{Name: "nproc", Soft: 64, Hard: 64},
				},
			},
			Resources: &swarm.ResourceRequirements{
				Limits:       &swarm.Limit{NanoCPUs: 1_500_000_000, MemoryBytes: 512 << 20, Pids: 200},
				Reservations: &swarm.Resources{NanoCPUs: 250_000_000, MemoryBytes: 128 << 20},
			},
			RestartPolicy: &swarm.RestartPolicy{
				Condition: swarm.RestartPolicyConditionOnFailure, Delay: ptr(5 * time.Second),
				MaxAttempts: ptr(uint64(3)), Window: ptr(2 * time.Minute),
			},
			Placement: &swarm.Placement{
				Constraints: []string{"node.labels.backpack.shop==true", "node.role==worker"},
				Preferences: []swarm.PlacementPreference{
					{Spread: &swarm.SpreadOver{SpreadDescriptor: "node.labels.zone"}},
				},
				MaxReplicas: 1,
			},
			Networks: []swarm.NetworkAttachmentConfig{
				{Target: "backpack_admin"},
				{Target: "backpack_public"},
				{Target: "shop_internal", Aliases: []string{"api", "backend"}},
			},
			LogDriver: &swarm.Driver{Name: "json-file", Options: map[string]string{"max-size": "10m"}},
		},
		Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: ptr(uint64(2))}},
		UpdateConfig: &swarm.UpdateConfig{
			Parallelism: 2, Delay: 5 * time.Second, FailureAction: "rollback",
			Monitor: 30 * time.Second, MaxFailureRatio: 0.25, Order: "start-first",
		},
		RollbackConfig: &swarm.UpdateConfig{Parallelism: 0, FailureAction: "pause", Order: "stop-first"},
		EndpointSpec: &swarm.EndpointSpec{
			Mode: swarm.ResolutionModeDNSRR,
			Ports: []swarm.PortConfig{
				{Protocol: "tcp", TargetPort: 3000, PublishedPort: 3000, PublishMode: "host"},
				{Protocol: "udp", TargetPort: 9000, PublishedPort: 9001, PublishMode: "host"},
			},
		},
	}
	equal(t, "shop_api", specs["shop_api"], want)
	if err := Validate(load(t, fullStack, fullEnv), testNamespace); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestServiceDefaults(t *testing.T) {
	specs, err := Services(load(t, fullStack, fullEnv), testNamespace)
	if err != nil {
		t.Fatal(err)
	}
	// A service that says nothing but its image: one replica, VIP, the stack's default
	// network with its short name, and nothing else set.
	want := swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: "shop_mongo", Labels: map[string]string{
			LabelNamespace: "shop", LabelImage: "mongo:7",
		}},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{
				Image:  "mongo:7",
				Labels: map[string]string{LabelNamespace: "shop"},
			},
			Networks: []swarm.NetworkAttachmentConfig{{Target: "shop_default", Aliases: []string{"mongo"}}},
		},
		Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: ptr(uint64(1))}},
		EndpointSpec: &swarm.EndpointSpec{Mode: swarm.ResolutionModeVIP},
	}
	equal(t, "shop_mongo", specs["shop_mongo"], want)
}

// convertOne converts a single service "svc" described by the YAML lines under it.
func convertOne(t *testing.T, body string) (swarm.ServiceSpec, error) {
	t.Helper()
	specs, err := Services(load(t, "services:\n  svc:\n    image: img\n"+body, nil), testNamespace)
	if err != nil {
		return swarm.ServiceSpec{}, err
	}
	return specs["shop_svc"], nil
}

func TestServiceFields(t *testing.T) {
	tests := []struct {
		name string
		body string
		get  func(swarm.ServiceSpec) any
		want any
	}{
		{"restart always is any", "    restart: always\n",
			func(s swarm.ServiceSpec) any { return s.TaskTemplate.RestartPolicy },
			&swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionAny}},
		{"restart unless-stopped is any", "    restart: unless-stopped\n",
			func(s swarm.ServiceSpec) any { return s.TaskTemplate.RestartPolicy },
			&swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionAny}},
		{"restart no is none", "    restart: \"no\"\n",
			func(s swarm.ServiceSpec) any { return s.TaskTemplate.RestartPolicy },
			&swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionNone}},
		{"restart on-failure with attempts", "    restart: on-failure:3\n",
			func(s swarm.ServiceSpec) any { return s.TaskTemplate.RestartPolicy },
			&swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionOnFailure, MaxAttempts: ptr(uint64(3))}},
		{"no restart policy is the engine default", "",
			func(s swarm.ServiceSpec) any { return s.TaskTemplate.RestartPolicy },
			(*swarm.RestartPolicy)(nil)},
		{"global mode", "    deploy: {mode: global}\n",
			func(s swarm.ServiceSpec) any { return s.Mode },
			swarm.ServiceMode{Global: &swarm.GlobalService{}}},
		{"scale is replicas", "    scale: 3\n",
			func(s swarm.ServiceSpec) any { return s.Mode },
			swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: ptr(uint64(3))}}},
		{"zero replicas stay zero", "    deploy: {replicas: 0}\n",
			func(s swarm.ServiceSpec) any { return s.Mode },
			swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: ptr(uint64(0))}}},
		{"healthcheck disable", "    healthcheck: {disable: true}\n",
			func(s swarm.ServiceSpec) any { return s.TaskTemplate.ContainerSpec.Healthcheck },
			&container.HealthConfig{Test: []string{"NONE"}}},
		{"healthcheck shell form", "    healthcheck: {test: wget -q localhost, interval: 1m30s}\n",
			func(s swarm.ServiceSpec) any { return s.TaskTemplate.ContainerSpec.Healthcheck },
			&container.HealthConfig{Test: []string{"CMD-SHELL", "wget -q localhost"}, Interval: 90 * time.Second}},
		{"cpus are exact decimals", "    deploy: {resources: {limits: {cpus: '1.1'}, reservations: {cpus: 0.001}}}\n",
			func(s swarm.ServiceSpec) any { return s.TaskTemplate.Resources },
			&swarm.ResourceRequirements{
				Limits:       &swarm.Limit{NanoCPUs: 1_100_000_000},
				Reservations: &swarm.Resources{NanoCPUs: 1_000_000},
			}},
		{"update defaults to parallelism 1", "    deploy: {update_config: {order: stop-first}}\n",
			func(s swarm.ServiceSpec) any { return s.UpdateConfig },
			&swarm.UpdateConfig{Parallelism: 1, Order: "stop-first"}},
		{"start-first update that pauses on failure", "    deploy: {update_config: {order: start-first, failure_action: pause, monitor: 10s}}\n",
			func(s swarm.ServiceSpec) any { return s.UpdateConfig },
			&swarm.UpdateConfig{Parallelism: 1, Order: "start-first", FailureAction: "pause", Monitor: 10 * time.Second}},
		{"healthcheck exec form with every timing", "    healthcheck: {test: [CMD, /backpack-api, healthcheck], interval: 2s, timeout: 3s, retries: 5, start_period: 1m}\n",
			func(s swarm.ServiceSpec) any { return s.TaskTemplate.ContainerSpec.Healthcheck },
			&container.HealthConfig{Test: []string{"CMD", "/backpack-api", "healthcheck"}, Interval: 2 * time.Second, Timeout: 3 * time.Second,
				StartPeriod: time.Minute, Retries: 5}},
		{"stop grace period", "    stop_grace_period: 40s\n",
			func(s swarm.ServiceSpec) any { return s.TaskTemplate.ContainerSpec.StopGracePeriod },
			ptr(40 * time.Second)},
		{"no stop grace period is the engine default", "",
			func(s swarm.ServiceSpec) any { return s.TaskTemplate.ContainerSpec.StopGracePeriod },
			(*time.Duration)(nil)},
		{"ingress ports with vip", "    ports: ['8080:80']\n",
			func(s swarm.ServiceSpec) any { return s.EndpointSpec },
			&swarm.EndpointSpec{Mode: "vip", Ports: []swarm.PortConfig{
				{Protocol: "tcp", TargetPort: 80, PublishedPort: 8080, PublishMode: "ingress"},
			}}},
		{"ports sorted", "    ports: ['9000:90', '8000:80/udp', '8000:80']\n",
			func(s swarm.ServiceSpec) any { return s.EndpointSpec.Ports },
			[]swarm.PortConfig{
				{Protocol: "tcp", TargetPort: 80, PublishedPort: 8000, PublishMode: "ingress"},
				{Protocol: "udp", TargetPort: 80, PublishedPort: 8000, PublishMode: "ingress"},
				{Protocol: "tcp", TargetPort: 90, PublishedPort: 9000, PublishMode: "ingress"},
			}},
		{"host port without published number", "    deploy: {endpoint_mode: dnsrr}\n    ports: [{target: 80, mode: host}]\n",
			func(s swarm.ServiceSpec) any { return s.EndpointSpec },
			&swarm.EndpointSpec{Mode: "dnsrr", Ports: []swarm.PortConfig{
				{Protocol: "tcp", TargetPort: 80, PublishMode: "host"},
			}}},
		{"secret with absolute target elsewhere", "    secrets: [{source: s, target: /etc/s.pem}]\nsecrets:\n  s: {environment: S}\n",
			func(s swarm.ServiceSpec) any { return s.TaskTemplate.ContainerSpec.Secrets[0].File.Name },
			"/etc/s.pem"},
		{"explicit secret name", "    secrets: [s]\nsecrets:\n  s: {environment: S, name: shop_s_v2}\n",
			func(s swarm.ServiceSpec) any { return s.TaskTemplate.ContainerSpec.Secrets[0].SecretName },
			"shop_s_v2"},
		{"external secret by its own name", "    secrets: [s]\nsecrets:\n  s: {external: true}\n",
			func(s swarm.ServiceSpec) any { return s.TaskTemplate.ContainerSpec.Secrets[0].SecretName },
			"s"},
		{"single ulimit", "    ulimits: {nofile: 4096}\n",
			func(s swarm.ServiceSpec) any { return s.TaskTemplate.ContainerSpec.Ulimits },
			[]*container.Ulimit{{Name: "nofile", Soft: 4096, Hard: 4096}}},
		{"explicit network name", "    networks: [n]\nnetworks:\n  n: {name: custom}\n",
			func(s swarm.ServiceSpec) any { return s.TaskTemplate.Networks },
			[]swarm.NetworkAttachmentConfig{{Target: "custom", Aliases: []string{"svc"}}}},
		{"aliases on an external network are kept", "    networks: {pub: {aliases: [www]}}\nnetworks:\n  pub: {external: true, name: backpack_public}\n",
			func(s swarm.ServiceSpec) any { return s.TaskTemplate.Networks },
			[]swarm.NetworkAttachmentConfig{{Target: "backpack_public", Aliases: []string{"www"}}}},
		{"depends_on started is accepted", "    depends_on: {other: {condition: service_started}}\n  other:\n    image: img\n",
			func(s swarm.ServiceSpec) any { return s.Name }, "shop_svc"},
		{"x- extensions are accepted", "    x-note: anything\n",
			func(s swarm.ServiceSpec) any { return s.Name }, "shop_svc"},
		{"namespace label wins", "    labels: {com.docker.stack.namespace: other}\n    deploy: {labels: {com.docker.stack.namespace: other}}\n",
			func(s swarm.ServiceSpec) any {
				return []string{s.Labels[LabelNamespace], s.TaskTemplate.ContainerSpec.Labels[LabelNamespace]}
			},
			[]string{"shop", "shop"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, err := convertOne(t, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			equal(t, tt.name, tt.get(spec), tt.want)
		})
	}
}

func TestServiceInvalidValues(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"restart and restart_policy", "    restart: always\n    deploy: {restart_policy: {condition: any}}\n",
			`service "svc": "restart" and "deploy.restart_policy" are both set; keep deploy.restart_policy`},
		{"ingress port with dnsrr", "    ports: ['80:80']\n    deploy: {endpoint_mode: dnsrr}\n",
			`service "svc": ports[0]: port 80 is published in ingress mode, which needs endpoint_mode vip; with dnsrr, publish it with mode: host`},
		{"replicas on global", "    deploy: {mode: global, replicas: 2}\n",
			`service "svc": deploy.replicas: a global service runs one task per node`},
		{"environment without value", "    environment: [A=1, UNSET, ALSO_UNSET]\n",
			`service "svc": environment variables without a value: ALSO_UNSET, UNSET`},
		{"restart policy condition", "    deploy: {restart_policy: {condition: sometimes}}\n",
			`service "svc": deploy.restart_policy.condition: "sometimes" is not none, on-failure or any`},
		{"failure ratio", "    deploy: {update_config: {max_failure_ratio: 2}}\n",
			`service "svc": deploy.update_config.max_failure_ratio: 2 is not between 0 and 1`},
		{"rollback of a rollback", "    deploy: {rollback_config: {failure_action: rollback}}\n",
			`service "svc": deploy.rollback_config.failure_action: a rollback cannot itself roll back`},
		{"logging options without driver", "    logging: {options: {max-size: 1m}}\n",
			`service "svc": logging: options are set but no driver`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := convertOne(t, tt.body)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("got  %v\nwant %s", err, tt.want)
			}
		})
	}
}

func TestTwoMountsOnOneTarget(t *testing.T) {
	// The loader merges volumes by target; a project built otherwise may still have two.
	p := load(t, "services:\n  svc:\n    image: img\n    volumes: ['data:/d']\nvolumes:\n  data:\n", nil)
	s := p.Services["svc"]
	s.Volumes = append(s.Volumes, types.ServiceVolumeConfig{Type: types.VolumeTypeTmpfs, Target: "/d"})
	p.Services["svc"] = s
	_, err := Services(p, testNamespace)
	if want := `service "svc": volumes: two mounts on /d`; err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
}

func TestEveryInvalidValueIsReported(t *testing.T) {
	_, err := convertOne(t, "    restart: always\n    environment: [UNSET]\n    deploy: {restart_policy: {condition: any}}\n"+
		"  other:\n    image: img\n    deploy: {mode: global, replicas: 2}\n")
	equal(t, "errors", errorLines(err), []string{
		`service "other": deploy.replicas: a global service runs one task per node`,
		`service "svc": environment variables without a value: UNSET`,
		`service "svc": "restart" and "deploy.restart_policy" are both set; keep deploy.restart_policy`,
	})
}

func TestServicesAreDeterministic(t *testing.T) {
	p := load(t, fullStack, fullEnv)
	first, err := Services(p, testNamespace)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		again, err := Services(p, testNamespace)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "second conversion", again, first)
	}
	// The same service written in another order converts to the same spec.
	reordered := strings.NewReplacer(
		"      PORT: \"3000\"\n      MONGO_URL: mongodb://mongo:27017\n",
		"      MONGO_URL: mongodb://mongo:27017\n      PORT: \"3000\"\n",
		`constraints: ["node.role==worker", "node.labels.backpack.shop==true"]`,
		`constraints: ["node.labels.backpack.shop==true", "node.role==worker"]`,
		"      - files:/data/files\n      - site:/data/site:ro\n",
		"      - site:/data/site:ro\n      - files:/data/files\n",
		"      internal: {aliases: [backend]}\n      public: {}\n",
		"      public: {}\n      internal: {aliases: [backend]}\n",
	).Replace(fullStack)
	if reordered == fullStack {
		t.Fatal("the reordering changed nothing")
	}
	other, err := Services(load(t, reordered, fullEnv), testNamespace)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "reordered file", other, first)
}

func TestServicesDoNotAliasTheProject(t *testing.T) {
	p := load(t, fullStack, fullEnv)
	specs, err := Services(p, testNamespace)
	if err != nil {
		t.Fatal(err)
	}
	cs := specs["shop_api"].TaskTemplate.ContainerSpec
	cs.Args[0] = "changed"
	cs.Labels["changed"] = "yes"
	specs["shop_api"].Labels["changed"] = "yes"
	if p.Services["api"].Command[0] != "serve" || p.Services["api"].Labels["changed"] != "" ||
		p.Services["api"].Deploy.Labels["changed"] != "" {
		t.Fatal("changing a spec changed the project")
	}
}

func TestResolveReferences(t *testing.T) {
	specs, err := Services(load(t, fullStack, fullEnv), testNamespace)
	if err != nil {
		t.Fatal(err)
	}
	spec := specs["shop_api"]
	secrets := map[string]string{"shop_api_key": "s1", "shop_admin_token": "s2"}
	configs := map[string]string{"shop_app_conf": "c1", "shop_motd": "c2"}
	resolved, err := ResolveReferences(spec, secrets, configs)
	if err != nil {
		t.Fatal(err)
	}
	cs := resolved.TaskTemplate.ContainerSpec
	got := []string{cs.Secrets[0].SecretID, cs.Secrets[1].SecretID, cs.Configs[0].ConfigID, cs.Configs[1].ConfigID}
	equal(t, "ids", got, []string{"s2", "s1", "c1", "c2"})
	if spec.TaskTemplate.ContainerSpec.Secrets[0].SecretID != "" {
		t.Fatal("ResolveReferences changed its argument")
	}

	delete(secrets, "shop_api_key")
	delete(configs, "shop_motd")
	_, err = ResolveReferences(spec, secrets, configs)
	want := `service "shop_api": no ID for secret shop_api_key, config shop_motd`
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
}
