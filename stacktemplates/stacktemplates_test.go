package stacktemplates

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/traefik/paerser/parser"
	ptypes "github.com/traefik/paerser/types"
	"go.yaml.in/yaml/v3"
)

func base() Vars { return Vars{Name: "shop", Domain: "example.com", Node: "node-1"} }

func TestValidate(t *testing.T) {
	if err := base().Validate(); err != nil {
		t.Fatalf("base vars: %v", err)
	}
	ok := []func(*Vars){
		func(v *Vars) { v.Domain = "localhost" },
		func(v *Vars) { v.Domain = "apps.example.co.uk" },
		func(v *Vars) { v.Domain = "x-1.localhost" },
		func(v *Vars) { v.Node = "worker-2.eu_west" },
		func(v *Vars) { v.EntryPoints = "web,websecure" },
		func(v *Vars) { v.CORSOrigins = []string{"https://shop.example.com", "http://localhost:5173"} },
		func(v *Vars) { v.API.Image = "registry.local:5000/team/backpack-api:1.2.3" },
		func(v *Vars) {
			v.Mongo.Image = "mongo@sha256:0000000000000000000000000000000000000000000000000000000000000000"
		},
		func(v *Vars) { v.Redis.CPUs, v.Redis.Memory = "0.25", "64m" },
		func(v *Vars) { v.Web.Memory = "6M" },
		func(v *Vars) { v.SecretsVersion = 12 },
		func(v *Vars) { v.APIReplicas = MaxAPIReplicas },
		func(v *Vars) { v.Volumes = "shop_0a1b2c3d" },
		func(v *Vars) { v.TrustedProxies = []string{"10.0.5.0/24", "192.0.2.7", "fd00::/8"} },
	}
	for i, change := range ok {
		v := base()
		change(&v)
		if err := v.Validate(); err != nil {
			t.Errorf("valid case %d (%+v) refused: %v", i, v, err)
		}
	}

	for name, change := range map[string]func(*Vars){
		// Names reach Host(`…`) rules, label keys and Docker object names.
		"empty name":             func(v *Vars) { v.Name = "" },
		"uppercase name":         func(v *Vars) { v.Name = "Shop" },
		"backtick in name":       func(v *Vars) { v.Name = "sh`op" },
		"rule injection in name": func(v *Vars) { v.Name = "x`) || Host(`evil.com" },
		"parenthesis in name":    func(v *Vars) { v.Name = "shop)" },
		"dot in name":            func(v *Vars) { v.Name = "shop.evil" },
		"label injection":        func(v *Vars) { v.Name = "shop.rule=x" },
		"negative api replicas":  func(v *Vars) { v.APIReplicas = -1 },
		"too many api replicas":  func(v *Vars) { v.APIReplicas = MaxAPIReplicas + 1 },
		"uppercase volumes":      func(v *Vars) { v.Volumes = "Shop_1" },
		"slash in volumes":       func(v *Vars) { v.Volumes = "shop/../x" },
		"volumes from a dash":    func(v *Vars) { v.Volumes = "-shop" },
		"too long volumes":       func(v *Vars) { v.Volumes = strings.Repeat("a", 101) },
		"dollar in name":         func(v *Vars) { v.Name = "shop$x" },
		"name ending in -be":     func(v *Vars) { v.Name = "shop-be" },
		"reserved name":          func(v *Vars) { v.Name = "traefik" },
		"too long name":          func(v *Vars) { v.Name = strings.Repeat("a", 33) },
		// Domains too.
		"no domain":              func(v *Vars) { v.Domain = "" },
		"uppercase domain":       func(v *Vars) { v.Domain = "Example.com" },
		"trailing dot":           func(v *Vars) { v.Domain = "example.com." },
		"backtick in domain":     func(v *Vars) { v.Domain = "example.com`) || Host(`evil.com" },
		"parenthesis in domain":  func(v *Vars) { v.Domain = "example.com)" },
		"space in domain":        func(v *Vars) { v.Domain = "example .com" },
		"empty label":            func(v *Vars) { v.Domain = "example..com" },
		"leading hyphen":         func(v *Vars) { v.Domain = "-example.com" },
		"IP address":             func(v *Vars) { v.Domain = "10.0.0.1" },
		"numeric TLD":            func(v *Vars) { v.Domain = "example.123" },
		"scheme in domain":       func(v *Vars) { v.Domain = "https://example.com" },
		"host too long":          func(v *Vars) { v.Domain = strings.Repeat(strings.Repeat("a", 60)+".", 4) + "com" },
		"no node":                func(v *Vars) { v.Node = "" },
		"proxy not a CIDR":       func(v *Vars) { v.TrustedProxies = []string{"traefik"} },
		"proxies in one string":  func(v *Vars) { v.TrustedProxies = []string{"10.0.0.0/8,0.0.0.0/0"} },
		"constraint injection":   func(v *Vars) { v.Node = "n1 || node.role == manager" },
		"node with comma":        func(v *Vars) { v.Node = "n1,node.role==manager" },
		"node with space":        func(v *Vars) { v.Node = "n 1" },
		"resolver with backtick": func(v *Vars) { v.CertResolver = "le`" },
		"entry points spaced":    func(v *Vars) { v.EntryPoints = "web websecure" },
		"entry point empty item": func(v *Vars) { v.EntryPoints = "web," },
		"origin with path":       func(v *Vars) { v.CORSOrigins = []string{"https://shop.example.com/app"} },
		"origin wildcard":        func(v *Vars) { v.CORSOrigins = []string{"*"} },
		"origin with comma":      func(v *Vars) { v.CORSOrigins = []string{"https://a.com,https://b.com"} },
		"origin scheme":          func(v *Vars) { v.CORSOrigins = []string{"javascript://x"} },
		"negative secrets":       func(v *Vars) { v.SecretsVersion = -1 },
		"uppercase image":        func(v *Vars) { v.API.Image = "Backpack-API:1" },
		"image with space":       func(v *Vars) { v.Mongo.Image = "mongo:7 --auth" },
		"image interpolation":    func(v *Vars) { v.Redis.Image = "redis:${TAG}" },
		"image newline":          func(v *Vars) { v.Web.Image = "nginx\nprivileged: true" },
		"zero CPUs":              func(v *Vars) { v.API.CPUs = "0" },
		"negative CPUs":          func(v *Vars) { v.API.CPUs = "-1" },
		"CPUs exponent":          func(v *Vars) { v.API.CPUs = "1e3" },
		"memory without number":  func(v *Vars) { v.Mongo.Memory = "G" },
		"memory unit":            func(v *Vars) { v.Mongo.Memory = "512X" },
		"memory too small":       func(v *Vars) { v.Redis.Memory = "1M" },
	} {
		v := base()
		change(&v)
		if err := v.Validate(); err == nil {
			t.Errorf("%s: %+v accepted", name, v)
		}
		if _, err := Load(context.Background(), v); err == nil {
			t.Errorf("%s: Load accepted %+v", name, v)
		}
		if _, err := Render(context.Background(), v); err == nil {
			t.Errorf("%s: Render accepted %+v", name, v)
		}
	}
}

// TestAPIReplicas: the api service runs the replicas asked for, on the backend's node like
// every other service; the stateful ones stay at one.
func TestAPIReplicas(t *testing.T) {
	v := base()
	v.APIReplicas = 3
	p, err := Load(context.Background(), v)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int{"api": 3, "mongo": 1, "redis": 1, "web": 1} {
		d := p.Services[name].Deploy
		if d.Replicas == nil || *d.Replicas != want {
			t.Errorf("%s: replicas %v, want %d", name, d.Replicas, want)
		}
		if !slices.Equal(d.Placement.Constraints, []string{"node.labels.backpack.node == node-1"}) {
			t.Errorf("%s: placement %v", name, d.Placement.Constraints)
		}
	}
	out, err := Render(context.Background(), v)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte("replicas: 3")) {
		t.Errorf("rendered stack has no replicas: 3:\n%s", out)
	}
}

// TestVolumesIncarnation: Volumes names every volume of the stack, and only the volumes: the
// control plane gives each new backend its own, so that a later backend of the same name
// never attaches them.
func TestVolumesIncarnation(t *testing.T) {
	v := base()
	v.Volumes = "shop_0a1b2c3d"
	p, err := Load(context.Background(), v)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for key, vol := range p.Volumes {
		got = append(got, key+"="+vol.Name)
	}
	slices.Sort(got)
	want := []string{"files=shop_0a1b2c3d_files", "mongo_config=shop_0a1b2c3d_mongo_config",
		"mongo_data=shop_0a1b2c3d_mongo_data", "redis_data=shop_0a1b2c3d_redis_data", "site=shop_0a1b2c3d_site"}
	if !slices.Equal(got, want) {
		t.Errorf("volumes %v, want %v", got, want)
	}
	if p.Secrets["api_key"].Name != "shop_api_key_v1" {
		t.Errorf("Volumes changed the secrets' names: %s", p.Secrets["api_key"].Name)
	}
}

func TestDefaults(t *testing.T) {
	v := base().WithDefaults()
	if v.EntryPoints != "web" || v.CertResolver != "letsencrypt" || v.SecretsVersion != 1 ||
		!slices.Equal(v.CORSOrigins, []string{"http://shop.example.com"}) ||
		v.API.Image != DefaultAPIImage || v.Mongo.Image != "mongo:7" || v.Redis.Image != "redis:7-alpine" ||
		v.Web.Image != "nginx:1.27-alpine" || v.API.Memory != "512M" || v.Web.CPUs != "0.5" || v.APIReplicas != 1 {
		t.Errorf("defaults without TLS = %+v", v)
	}
	tls := base()
	tls.TLS = true
	if v := tls.WithDefaults(); v.EntryPoints != "websecure" || !slices.Equal(v.CORSOrigins, []string{"https://shop.example.com"}) {
		t.Errorf("defaults with TLS = %+v", v)
	}
	k, a := base().SecretNames()
	if k != "shop_api_key_v1" || a != "shop_admin_token_v1" {
		t.Errorf("secret names = %s, %s", k, a)
	}
	for domain, want := range map[string]bool{"example.com": true, "apps.example.co.uk": true, "localhost": false, "dev.localhost": false, "intranet": false} {
		if NeedsCertificate(domain) != want {
			t.Errorf("NeedsCertificate(%q) = %v", domain, !want)
		}
	}
}

// TestTemplateVariables keeps backend.yml and Environment in step: the template uses exactly
// the variables Environment sets, so no template default is ever what gets deployed.
func TestTemplateVariables(t *testing.T) {
	tmpl, err := fs.ReadFile(Files, BackendFile)
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, line := range strings.Split(string(tmpl), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for _, m := range regexp.MustCompile(`\$\{([A-Z0-9_]+)`).FindAllStringSubmatch(line, -1) {
			used[m[1]] = true
		}
	}
	env := base().Environment()
	if got, want := slices.Sorted(maps.Keys(used)), slices.Sorted(maps.Keys(env)); !slices.Equal(got, want) {
		t.Errorf("template variables %v\nEnvironment keys     %v", got, want)
	}
	for k, v := range env {
		if v == "" {
			t.Errorf("Environment()[%s] is empty", k)
		}
	}
}

func TestLoad(t *testing.T) {
	v := base()
	v.API.Image = "backpack-api:test"
	p, err := Load(context.Background(), v)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "shop" {
		t.Errorf("project name %q", p.Name)
	}
	if got := slices.Sorted(maps.Keys(p.Services)); !slices.Equal(got, []string{"api", "mongo", "redis", "web"}) {
		t.Fatalf("services %v", got)
	}
	wantNetworks := map[string][]string{
		"api":   {"backpack_admin", "backpack_public", "internal"},
		"mongo": {"internal"},
		"redis": {"internal"},
		"web":   {"backpack_public"},
	}
	wantOrder := map[string]string{"api": "start-first", "web": "start-first", "mongo": "stop-first", "redis": "stop-first"}
	for name, s := range p.Services {
		d := s.Deploy
		if d == nil {
			t.Errorf("%s: no deploy section", name)
			continue
		}
		if d.EndpointMode != "dnsrr" {
			t.Errorf("%s: endpoint_mode %q, want dnsrr (no IPVS)", name, d.EndpointMode)
		}
		if d.Replicas == nil || *d.Replicas != 1 {
			t.Errorf("%s: replicas %v", name, d.Replicas)
		}
		if !slices.Equal(d.Placement.Constraints, []string{"node.labels.backpack.node == node-1"}) {
			t.Errorf("%s: placement %v", name, d.Placement.Constraints)
		}
		if d.RestartPolicy == nil || d.RestartPolicy.Condition != "any" {
			t.Errorf("%s: restart policy %+v", name, d.RestartPolicy)
		}
		if d.UpdateConfig == nil || d.UpdateConfig.Order != wantOrder[name] {
			t.Errorf("%s: update_config %+v, want order %s", name, d.UpdateConfig, wantOrder[name])
		}
		if d.Resources.Limits == nil || d.Resources.Limits.NanoCPUs <= 0 || d.Resources.Limits.MemoryBytes <= 0 {
			t.Errorf("%s: limits %+v", name, d.Resources.Limits)
		}
		if got := slices.Sorted(maps.Keys(s.Networks)); !slices.Equal(got, wantNetworks[name]) {
			t.Errorf("%s: networks %v, want %v", name, got, wantNetworks[name])
		}
		// Nothing is published: Traefik and the control plane reach tasks over the overlays,
		// so the admin port (and Mongo, Redis) have no way in from outside the swarm.
		if len(s.Ports) > 0 || len(s.Expose) > 0 {
			t.Errorf("%s publishes ports %v %v", name, s.Ports, s.Expose)
		}
		if name != "api" && s.HealthCheck != nil {
			t.Errorf("%s: healthcheck %+v; the stand-in images have no tools for one (see backend.yml)", name, s.HealthCheck)
		}
		for k := range s.Labels {
			if strings.HasPrefix(k, "traefik.") {
				t.Errorf("%s: container label %s; the Swarm provider reads deploy labels only", name, k)
			}
		}
	}
	wantLimits := map[string]types.Resource{
		"api":   {NanoCPUs: 1, MemoryBytes: 512 << 20},
		"mongo": {NanoCPUs: 1, MemoryBytes: 1 << 30},
		"redis": {NanoCPUs: 0.5, MemoryBytes: 256 << 20},
		"web":   {NanoCPUs: 0.5, MemoryBytes: 64 << 20},
	}
	for name, want := range wantLimits {
		got := p.Services[name].Deploy.Resources.Limits
		if got.NanoCPUs != want.NanoCPUs || got.MemoryBytes != want.MemoryBytes {
			t.Errorf("%s: limits %v CPUs %v bytes, want %v, %v", name, got.NanoCPUs, got.MemoryBytes, want.NanoCPUs, want.MemoryBytes)
		}
	}

	internal := p.Networks["internal"]
	if !internal.Internal || internal.Attachable || bool(internal.External) || internal.Driver != "overlay" {
		t.Errorf("internal network %+v", internal)
	}
	for _, n := range []string{"backpack_public", "backpack_admin"} {
		if !p.Networks[n].External {
			t.Errorf("%s is not external", n)
		}
	}

	api := p.Services["api"]
	if api.Image != "backpack-api:test" || p.Services["mongo"].Image != "mongo:7" {
		t.Errorf("images %s, %s", api.Image, p.Services["mongo"].Image)
	}
	env := func(k string) string {
		if v := api.Environment[k]; v != nil {
			return *v
		}
		return ""
	}
	for k, want := range map[string]string{
		"MONGO_URL":                  "mongodb://mongo:27017/backpack",
		"REDIS_URL":                  "redis://redis:6379/0",
		"BACKPACK_API_KEY_FILE":      "/run/secrets/api_key",
		"BACKPACK_ADMIN_TOKEN_FILE":  "/run/secrets/admin_token",
		"BACKPACK_CORS_ORIGINS":      "http://shop.example.com",
		"BACKPACK_FILES_DIR":         "/data/files",
		"BACKPACK_SITE_DIR":          "/data/site",
		"BACKPACK_PORT":              "3000",
		"BACKPACK_ADMIN_PORT":        "3001",
		"BACKPACK_ADMIN_LISTEN_HOST": "shop-admin",
		"BACKPACK_TRUSTED_PROXIES":   PublicSubnet,
		"BACKPACK_DRAIN":             "8s",
	} {
		if env(k) != want {
			t.Errorf("api %s = %q, want %q", k, env(k), want)
		}
	}
	// Updates fail no request: the new task gets traffic only once its healthcheck passes
	// (start-first keeps the old one until then), and the old one is given the time to drain
	// and finish its requests before Swarm kills it.
	hc := api.HealthCheck
	if hc == nil || !slices.Equal(hc.Test, []string{"CMD", "/backpack-api", "healthcheck"}) || hc.Interval == nil || hc.Timeout == nil ||
		hc.Retries == nil || hc.StartPeriod == nil || hc.Disable {
		t.Errorf("api healthcheck %+v, want the healthcheck subcommand with interval, timeout, retries and start_period", hc)
	}
	drain, _ := time.ParseDuration(env("BACKPACK_DRAIN"))
	if api.StopGracePeriod == nil || time.Duration(*api.StopGracePeriod) < drain+20*time.Second {
		t.Errorf("api stop_grace_period %v, want at least the drain (%s) plus the in-flight grace (20s)", api.StopGracePeriod, drain)
	}
	if u := api.Deploy.UpdateConfig; u == nil || u.Order != "start-first" || u.FailureAction != "pause" {
		t.Errorf("api update_config %+v, want start-first, failure_action pause", u)
	}
	var mounted []string
	for _, s := range api.Secrets {
		mounted = append(mounted, s.Source+"->/run/secrets/"+s.Target)
	}
	if !slices.Equal(mounted, []string{"api_key->/run/secrets/api_key", "admin_token->/run/secrets/admin_token"}) {
		t.Errorf("api secrets %v", mounted)
	}
	for name, want := range map[string]string{"api_key": "shop_api_key_v1", "admin_token": "shop_admin_token_v1"} {
		if s := p.Secrets[name]; !s.External || s.Name != want {
			t.Errorf("secret %s = %+v, want external %s", name, s, want)
		}
	}

	mounts := func(s types.ServiceConfig) []string {
		var out []string
		for _, m := range s.Volumes {
			out = append(out, fmt.Sprintf("%s:%s:%s:ro=%v", m.Type, m.Source, m.Target, m.ReadOnly))
		}
		return out
	}
	for name, want := range map[string][]string{
		"api":   {"volume:files:/data/files:ro=false", "volume:site:/data/site:ro=false"},
		"mongo": {"volume:mongo_data:/data/db:ro=false", "volume:mongo_config:/data/configdb:ro=false"},
		"redis": {"volume:redis_data:/data:ro=false"},
		"web":   {"volume:site:/site:ro=true"},
	} {
		if got := mounts(p.Services[name]); !slices.Equal(got, want) {
			t.Errorf("%s mounts %v, want %v", name, got, want)
		}
	}
	for _, vol := range []string{"files", "site", "mongo_data", "mongo_config", "redis_data"} {
		if v, ok := p.Volumes[vol]; !ok || v.Name != "shop_"+vol {
			t.Errorf("volume %s: %+v, want it declared as shop_%s (the stack's default names)", vol, v, vol)
		}
	}

	// The nginx config comes inlined from the embedded file, named after its content.
	web := p.Services["web"]
	if len(web.Configs) != 1 || web.Configs[0].Source != "nginx_conf" || web.Configs[0].Target != "/etc/nginx/nginx.conf" {
		t.Errorf("web configs %+v", web.Configs)
	}
	conf, _ := fs.ReadFile(Files, "nginx.conf")
	c := p.Configs["nginx_conf"]
	if c.File != "" || c.Content != string(conf) || c.Name != "shop_nginx_"+nginxConfVersion() {
		t.Errorf("nginx config: name %q, file %q, content %d bytes", c.Name, c.File, len(c.Content))
	}
}

// The structs below mirror the parts of Traefik v3's dynamic configuration
// (pkg/config/dynamic) and Swarm provider labels (pkg/provider/docker/shared_labels.go) that
// the template sets, with the same tags, so paerser decodes the labels the way Traefik does.
type traefikDynamic struct {
	HTTP *traefikHTTP
}

type traefikHTTP struct {
	Routers  map[string]*traefikRouter
	Services map[string]*traefikService
}

type traefikRouter struct {
	EntryPoints []string
	Middlewares []string
	Service     string
	Rule        string
	Priority    int
	TLS         *traefikRouterTLS `label:"allowEmpty"`
}

type traefikRouterTLS struct {
	Options      string
	CertResolver string
}

type traefikService struct {
	LoadBalancer *traefikLoadBalancer
}

type traefikLoadBalancer struct {
	Servers        []traefikServer `label-slice-as-struct:"server"`
	PassHostHeader *bool
	HealthCheck    *traefikHealthCheck `json:"healthCheck,omitempty"`
}

type traefikHealthCheck struct {
	Path     string
	Interval ptypes.Duration
	Timeout  ptypes.Duration
}

type traefikServer struct {
	URL    string `label:"-"`
	Scheme string
	Port   string
}

type traefikProviderLabels struct {
	Enable bool
	Swarm  *struct {
		Network *string
		LBSwarm bool
	}
}

// renderedLabels parses Render's output the way docker does and returns each service's
// deploy labels, which become the Swarm service's labels that Traefik reads.
func renderedLabels(t *testing.T, v Vars) map[string]map[string]string {
	t.Helper()
	out, err := Render(context.Background(), v)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Services map[string]struct {
			Deploy struct {
				Labels map[string]string
			}
		}
	}
	if err := yaml.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	labels := map[string]map[string]string{}
	for name, s := range doc.Services {
		labels[name] = s.Deploy.Labels
	}
	return labels
}

func TestTraefikLabels(t *testing.T) {
	for _, tc := range []struct {
		name        string
		vars        Vars
		entryPoints []string
		tls         *traefikRouterTLS
	}{
		{"plain HTTP", base(), []string{"web"}, nil},
		{"TLS", func() Vars { v := base(); v.TLS = true; return v }(), []string{"websecure"}, &traefikRouterTLS{CertResolver: "letsencrypt"}},
		{"TLS, own resolver and entry points", func() Vars {
			v := base()
			v.TLS, v.CertResolver, v.EntryPoints = true, "staging", "web,websecure"
			return v
		}(), []string{"web", "websecure"}, &traefikRouterTLS{CertResolver: "staging"}},
		{"no TLS, resolver named", func() Vars { v := base(); v.CertResolver = "staging"; return v }(), []string{"web"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			labels := renderedLabels(t, tc.vars)
			p, err := Load(context.Background(), tc.vars)
			if err != nil {
				t.Fatal(err)
			}
			for _, svc := range []string{"mongo", "redis"} {
				if len(labels[svc]) > 0 {
					t.Errorf("%s has deploy labels %v", svc, labels[svc])
				}
			}
			for _, tt := range []struct {
				svc, host, port string
			}{{"api", "shop-be.example.com", "3000"}, {"web", "shop.example.com", "80"}} {
				l := labels[tt.svc]
				if !maps.Equal(l, map[string]string(p.Services[tt.svc].Deploy.Labels)) {
					t.Errorf("%s: rendered labels differ from the loaded project's", tt.svc)
				}
				// Traefik ignores labels outside its filters: a misspelt key would be silently
				// dropped, so every traefik.* label must be one Traefik reads.
				for k := range l {
					if !strings.HasPrefix(k, "traefik.http.") && !strings.HasPrefix(k, "traefik.swarm.") && k != "traefik.enable" {
						t.Errorf("%s: label %s is not read by Traefik's Swarm provider", tt.svc, k)
					}
				}

				var provider traefikProviderLabels
				if err := decodeLabels(l, &provider, "traefik.enable", "traefik.docker.", "traefik.swarm."); err != nil {
					t.Fatalf("%s provider labels: %v", tt.svc, err)
				}
				if !provider.Enable || provider.Swarm == nil || provider.Swarm.Network == nil || *provider.Swarm.Network != "backpack_public" || provider.Swarm.LBSwarm {
					t.Errorf("%s provider labels %+v", tt.svc, provider)
				}

				var dyn traefikDynamic
				if err := decodeLabels(l, &dyn, "traefik.http", "traefik.tcp", "traefik.udp", "traefik.tls"); err != nil {
					t.Fatalf("%s dynamic labels: %v", tt.svc, err)
				}
				id := "shop-" + tt.svc
				if dyn.HTTP == nil || len(dyn.HTTP.Routers) != 1 || len(dyn.HTTP.Services) != 1 {
					t.Fatalf("%s: want one router and one service, got %s", tt.svc, dump(dyn))
				}
				r := dyn.HTTP.Routers[id]
				if r == nil {
					t.Fatalf("%s: no router %s in %s", tt.svc, id, dump(dyn))
				}
				if want := "Host(`" + tt.host + "`)"; r.Rule != want {
					t.Errorf("%s rule %q, want %q", id, r.Rule, want)
				}
				if !slices.Equal(r.EntryPoints, tc.entryPoints) || r.Service != id || len(r.Middlewares) != 0 || r.Priority != 0 {
					t.Errorf("router %s = %s", id, dump(r))
				}
				if (r.TLS == nil) != (tc.tls == nil) || (r.TLS != nil && *r.TLS != *tc.tls) {
					t.Errorf("router %s TLS = %s, want %s", id, dump(r.TLS), dump(tc.tls))
				}
				s := dyn.HTTP.Services[id]
				if s == nil || s.LoadBalancer == nil || len(s.LoadBalancer.Servers) != 1 {
					t.Fatalf("%s: service %s = %s", tt.svc, id, dump(dyn.HTTP.Services))
				}
				if srv := s.LoadBalancer.Servers[0]; srv.Port != tt.port || srv.URL != "" {
					t.Errorf("service %s server %+v, want port %s", id, srv, tt.port)
				}
				// Traefik drops a draining or unready API task, or a web task that stops
				// answering, itself; a database outage leaves the API in (scope=serving).
				wantHealth := &traefikHealthCheck{Path: "/.backpack-healthz", Interval: ptypes.Duration(2 * time.Second), Timeout: ptypes.Duration(2 * time.Second)}
				if tt.svc == "api" {
					wantHealth.Path = "/readyz?scope=serving"
				}
				if hc := s.LoadBalancer.HealthCheck; (hc == nil) != (wantHealth == nil) || hc != nil && *hc != *wantHealth {
					t.Errorf("service %s health check %s, want %s", id, dump(hc), dump(wantHealth))
				}
			}
		})
	}
}

func dump(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestRender(t *testing.T) {
	v := base()
	v.TLS = true
	v.API.Image, v.Web.Image = "backpack-api:dev", "backpack-nginx:test"
	out, err := Render(context.Background(), v)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]
	if root.Content[0].Value != "version" || root.Content[1].Value != "3.8" || root.Content[1].Tag != "!!str" {
		t.Errorf("rendered file does not start with version: \"3.8\":\n%s", out)
	}
	if lookup(root, "name") != nil {
		t.Error("rendered file has a top-level name, which docker 20.10 refuses")
	}
	for _, svc := range []string{"api", "mongo", "redis", "web"} {
		cpus := lookup(root, "services", svc, "deploy", "resources", "limits", "cpus")
		if cpus == nil || cpus.Tag != "!!str" {
			t.Errorf("%s cpus %+v is not a string", svc, cpus)
		}
	}
	if f := lookup(root, "configs", "nginx_conf", "file"); f == nil || f.Value != "./nginx.conf" {
		t.Errorf("nginx config file %+v, want ./nginx.conf", f)
	}
	for _, want := range []string{"image: backpack-api:dev", "image: backpack-nginx:test", "image: mongo:7",
		"name: shop_api_key_v1", "- node.labels.backpack.node == node-1", "BACKPACK_CORS_ORIGINS: https://shop.example.com"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("rendered file lacks %q", want)
		}
	}
	again, err := Render(context.Background(), v)
	if err != nil || !bytes.Equal(out, again) {
		t.Error("Render is not deterministic")
	}
}

// decodeLabels decodes labels as Traefik's label.Decode does: root "traefik", only the keys
// under the given filters.
func decodeLabels(labels map[string]string, element any, filters ...string) error {
	return parser.Decode(labels, element, parser.DefaultRootName, filters...)
}
