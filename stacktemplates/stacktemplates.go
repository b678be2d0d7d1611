// Package stacktemplates holds the compose-spec file of a backend's Swarm stack (backend.yml,
// with the nginx.conf its web service uses) and turns it into a project: Load for the control
// plane, which converts the project to Swarm service specs, and Render for operators, who pipe
// it to `docker stack deploy -c - NAME`. Both start from the same Vars, so a stack deployed by
// hand is the one the control plane would have deployed.
package stacktemplates

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/backpackhq/backpack/tools/names"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/distribution/reference"
	"github.com/docker/go-units"
)

//go:embed backend.yml nginx.conf
var files embed.FS

// BackendFile is the name of the backend stack template in Files.
const BackendFile = "backend.yml"

// Files holds backend.yml and the files it refers to (nginx.conf), by their names.
var Files fs.FS = files

// Defaults. DefaultAPIImage is the name assumed when none is given: keep it in step with the
// name the image build in deploy/ publishes. The others are the official images (tests
// override them with locally built stand-ins).
const (
	DefaultAPIImage     = "backpackhq/backpack-api:latest"
	DefaultMongoImage   = "mongo:7"
	DefaultRedisImage   = "redis:7-alpine"
	DefaultWebImage     = "nginx:1.27-alpine"
	DefaultCertResolver = "letsencrypt"
	// NodeLabel is the node label every service of the stack is pinned with:
	// node.labels.backpack.node == Vars.Node.
	NodeLabel = "backpack.node"
	// PublicSubnet is the subnet backpack_public, Traefik's network, is created with
	// (docs/deploy.md; the swarm runtime creates it so when missing). It is the default of
	// Vars.TrustedProxies: the API believes X-Forwarded-For from Traefik on it alone.
	PublicSubnet = "10.213.0.0/16"
)

// Service is what can be chosen for one service of the stack. Empty fields take the defaults.
type Service struct {
	Image  string // image reference
	CPUs   string // CPU limit, a decimal number of CPUs ("0.5")
	Memory string // memory limit with a unit ("512M", "1G")
}

// Vars are the variables of backend.yml. Zero fields take the defaults listed on each; Validate
// (called by Load and Render) refuses anything that could not be deployed or that could
// change the meaning of a label, a Traefik rule or a placement constraint.
type Vars struct {
	Name   string // backend name (names.Backend); also the stack (compose project) name
	Domain string // parent domain: the API answers at NAME-be.DOMAIN, the site at NAME.DOMAIN
	// Node is the value of the node label backpack.node on the node holding the backend's
	// volumes; every service is constrained to it.
	Node string
	// TLS makes Traefik's routers HTTPS with certificates from CertResolver; set it when the
	// domain is public (see NeedsCertificate).
	TLS          bool
	CertResolver string // Traefik certificate resolver; default "letsencrypt"
	// EntryPoints are Traefik's entry points, comma-separated; default "websecure" with TLS,
	// "web" without.
	EntryPoints string
	// CORSOrigins are the origins allowed to call the API with credentials; default the site,
	// https://NAME.DOMAIN (http:// without TLS).
	CORSOrigins []string
	// SecretsVersion is part of the names of the external secrets NAME_api_key_vN and
	// NAME_admin_token_vN; Swarm secrets are immutable, so a rotation creates the next
	// version. Default 1.
	SecretsVersion int
	// TrustedProxies are the CIDRs (or addresses) whose X-Forwarded-For the API believes for
	// the client's address (BACKPACK_TRUSTED_PROXIES); default PublicSubnet.
	TrustedProxies []string
	// APIReplicas is how many tasks the api service runs, all on Node; default 1.
	APIReplicas int
	// Volumes starts the names of the stack's volumes (VOLUMES_files, VOLUMES_mongo_data…);
	// default Name, as `docker stack deploy` names them. The control plane gives each new
	// backend its own (Name plus an incarnation), so a later backend of the same name never
	// attaches a purged one's volumes left on a lost node.
	Volumes string

	API, Mongo, Redis, Web Service
}

// MaxAPIReplicas is the most API replicas a stack may ask for; the control plane's own limit
// (BACKPACK_MAX_API_REPLICAS) is usually far lower.
const MaxAPIReplicas = 100

// DefaultLimits returns the CPU and memory limits a service of backend.yml ("api", "mongo",
// "redis" or "web") gets when Vars leaves them empty.
func DefaultLimits(service string) Service {
	switch service {
	case "api":
		return Service{CPUs: "1", Memory: "512M"}
	case "mongo":
		return Service{CPUs: "1", Memory: "1G"}
	case "redis":
		return Service{CPUs: "0.5", Memory: "256M"}
	case "web":
		return Service{CPUs: "0.5", Memory: "64M"}
	}
	return Service{}
}

// WithDefaults returns v with every empty field set to its default.
func (v Vars) WithDefaults() Vars {
	if v.CertResolver == "" {
		v.CertResolver = DefaultCertResolver
	}
	if v.EntryPoints == "" {
		v.EntryPoints = "web"
		if v.TLS {
			v.EntryPoints = "websecure"
		}
	}
	if len(v.CORSOrigins) == 0 && v.Name != "" && v.Domain != "" {
		v.CORSOrigins = []string{v.SiteURL()}
	}
	if v.SecretsVersion == 0 {
		v.SecretsVersion = 1
	}
	if len(v.TrustedProxies) == 0 {
		v.TrustedProxies = []string{PublicSubnet}
	}
	if v.APIReplicas == 0 {
		v.APIReplicas = 1
	}
	if v.Volumes == "" {
		v.Volumes = v.Name
	}
	fill := func(s *Service, service, image string) {
		if s.Image == "" {
			s.Image = image
		}
		if s.CPUs == "" {
			s.CPUs = DefaultLimits(service).CPUs
		}
		if s.Memory == "" {
			s.Memory = DefaultLimits(service).Memory
		}
	}
	fill(&v.API, "api", DefaultAPIImage)
	fill(&v.Mongo, "mongo", DefaultMongoImage)
	fill(&v.Redis, "redis", DefaultRedisImage)
	fill(&v.Web, "web", DefaultWebImage)
	return v
}

// Scheme is the scheme browsers use for the backend's hosts: https with TLS, else http.
func (v Vars) Scheme() string {
	if v.TLS {
		return "https"
	}
	return "http"
}

// APIHost and SiteHost are the host names Traefik routes to the api and web services.
func (v Vars) APIHost() string  { return v.Name + "-be." + v.Domain }
func (v Vars) SiteHost() string { return v.Name + "." + v.Domain }

// SiteURL is the site's origin, the default CORS origin.
func (v Vars) SiteURL() string { return v.Scheme() + "://" + v.SiteHost() }

// SecretNames are the Docker secret names the stack expects to exist (they are external: the
// control plane, or the operator, creates them before deploying).
func (v Vars) SecretNames() (apiKey, adminToken string) {
	n := v.WithDefaults().SecretsVersion
	return fmt.Sprintf("%s_api_key_v%d", v.Name, n), fmt.Sprintf("%s_admin_token_v%d", v.Name, n)
}

var (
	domainLabel        = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	nodeValue          = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)
	volumesValue       = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,99}$`)
	traefikName        = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	cpusValue          = regexp.MustCompile(`^[0-9]{1,4}(\.[0-9]{1,3})?$`)
	memoryValue        = regexp.MustCompile(`^[0-9]{1,7}[kKmMgG]?[bB]?$`)
	minMemory    int64 = 6 * 1024 * 1024 // Docker's smallest memory limit
)

// Validate checks v after defaults. Every value ends up in YAML, labels, a Traefik rule, a
// placement constraint or a Docker object name, so each is held to a strict character set:
// nothing that could close a Host(`…`), start a new constraint, or be interpolated again.
func (v Vars) Validate() error {
	v = v.WithDefaults()
	if err := names.Backend(v.Name); err != nil {
		return err
	}
	if err := ValidateDomain(v.Domain); err != nil {
		return err
	}
	if len(v.APIHost()) > 253 {
		return fmt.Errorf("domain %q: %s is longer than 253 characters", v.Domain, v.APIHost())
	}
	if !nodeValue.MatchString(v.Node) {
		return fmt.Errorf("node %q: must be the value of the node label %s: 1 to 63 letters, digits, '_', '.' or '-', starting with a letter or digit", v.Node, NodeLabel)
	}
	if !traefikName.MatchString(v.CertResolver) {
		return fmt.Errorf("certificate resolver %q: must be letters, digits, '_' or '-'", v.CertResolver)
	}
	for _, ep := range strings.Split(v.EntryPoints, ",") {
		if !traefikName.MatchString(ep) {
			return fmt.Errorf("entry points %q: must be comma-separated names of letters, digits, '_' or '-'", v.EntryPoints)
		}
	}
	for _, o := range v.CORSOrigins {
		if err := validateOrigin(o); err != nil {
			return err
		}
	}
	for _, p := range v.TrustedProxies {
		if err := validateProxy(p); err != nil {
			return err
		}
	}
	if !volumesValue.MatchString(v.Volumes) {
		return fmt.Errorf("volumes %q: must be 1 to 100 lower-case letters, digits, '_', '.' or '-', starting with a letter or digit", v.Volumes)
	}
	if v.SecretsVersion < 1 {
		return fmt.Errorf("secrets version %d: must be 1 or more", v.SecretsVersion)
	}
	if v.APIReplicas < 1 || v.APIReplicas > MaxAPIReplicas {
		return fmt.Errorf("api replicas %d: must be 1 to %d", v.APIReplicas, MaxAPIReplicas)
	}
	for _, s := range []struct {
		name string
		svc  Service
	}{{"api", v.API}, {"mongo", v.Mongo}, {"redis", v.Redis}, {"web", v.Web}} {
		if err := s.svc.validate(s.name); err != nil {
			return err
		}
	}
	return nil
}

func (s Service) validate(service string) error {
	// ParseNormalizedNamed accepts exactly what Docker accepts as an image reference; the
	// character check keeps out anything YAML or interpolation would read differently.
	if strings.ContainsAny(s.Image, "$ \t\r\n'\"`") {
		return fmt.Errorf("%s image %q: not an image reference", service, s.Image)
	}
	if _, err := reference.ParseNormalizedNamed(s.Image); err != nil {
		return fmt.Errorf("%s image %q: %v", service, s.Image, err)
	}
	if !cpusValue.MatchString(s.CPUs) {
		return fmt.Errorf("%s CPU limit %q: must be a number of CPUs such as 0.5 or 2", service, s.CPUs)
	}
	if f, _ := strconv.ParseFloat(s.CPUs, 64); f <= 0 {
		return fmt.Errorf("%s CPU limit %q: must be more than 0", service, s.CPUs)
	}
	if !memoryValue.MatchString(s.Memory) {
		return fmt.Errorf("%s memory limit %q: must be a size such as 512M or 1G", service, s.Memory)
	}
	if n, err := units.RAMInBytes(s.Memory); err != nil || n < minMemory {
		return fmt.Errorf("%s memory limit %q: must be at least 6M", service, s.Memory)
	}
	return nil
}

// ValidateDomain checks a parent domain: lowercase DNS labels separated by dots ("localhost"
// alone is fine), no trailing dot, and not an IP address.
func ValidateDomain(domain string) error {
	if domain == "" {
		return errors.New("a domain is required: backends answer at NAME-be.DOMAIN and NAME.DOMAIN")
	}
	if len(domain) > 253 {
		return fmt.Errorf("domain %q: longer than 253 characters", domain)
	}
	if net.ParseIP(domain) != nil {
		return fmt.Errorf("domain %q: must be a DNS name, not an IP address (backends are told apart by host name)", domain)
	}
	labels := strings.Split(domain, ".")
	for _, l := range labels {
		if !domainLabel.MatchString(l) {
			return fmt.Errorf("domain %q: must be lowercase DNS labels (letters, digits, '-') separated by dots", domain)
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return fmt.Errorf("domain %q: the last label cannot be all digits", domain)
	}
	return nil
}

// NeedsCertificate reports whether Traefik can get a public certificate for NAME.domain:
// not for localhost names or single-label domains, which no public CA signs.
func NeedsCertificate(domain string) bool {
	return domain != "localhost" && !strings.HasSuffix(domain, ".localhost") && strings.Contains(domain, ".")
}

func validateOrigin(o string) error {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" ||
		u.RawQuery != "" || u.Fragment != "" || u.User != nil || strings.ContainsAny(o, ",$ \t\r\n'\"`") {
		return fmt.Errorf("CORS origin %q: must be an origin such as https://shop.example.com", o)
	}
	return nil
}

// validateProxy accepts a CIDR or a single address, written plainly.
func validateProxy(p string) error {
	_, _, cidrErr := net.ParseCIDR(p)
	if (cidrErr != nil && net.ParseIP(p) == nil) || strings.ContainsAny(p, ",$ \t\r\n'\"`") {
		return fmt.Errorf("trusted proxy %q: must be a CIDR such as %s or an address", p, PublicSubnet)
	}
	return nil
}

// nginxConfVersion names the nginx config after its content (Swarm configs are immutable, so
// a changed file needs a new name).
func nginxConfVersion() string {
	b, err := fs.ReadFile(files, "nginx.conf")
	if err != nil {
		panic(err) // embedded
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}

// Environment is the interpolation environment for backend.yml: every variable the template
// uses, defaults applied.
func (v Vars) Environment() map[string]string {
	v = v.WithDefaults()
	env := map[string]string{
		"BACKPACK_NAME":               v.Name,
		"BACKPACK_DOMAIN":             v.Domain,
		"BACKPACK_NODE":               v.Node,
		"BACKPACK_TLS":                strconv.FormatBool(v.TLS),
		"BACKPACK_CERT_RESOLVER":      v.CertResolver,
		"BACKPACK_ENTRYPOINTS":        v.EntryPoints,
		"BACKPACK_CORS_ORIGINS":       strings.Join(v.CORSOrigins, ","),
		"BACKPACK_TRUSTED_PROXIES":    strings.Join(v.TrustedProxies, ","),
		"BACKPACK_SECRETS_VERSION":    strconv.Itoa(v.SecretsVersion),
		"BACKPACK_NGINX_CONF_VERSION": nginxConfVersion(),
		"BACKPACK_API_REPLICAS":       strconv.Itoa(v.APIReplicas),
		"BACKPACK_VOLUMES":            v.Volumes,
		"BACKPACK_API_IMAGE":          v.API.Image,
		"BACKPACK_API_CPUS":           v.API.CPUs,
		"BACKPACK_API_MEMORY":         v.API.Memory,
		"BACKPACK_MONGO_IMAGE":        v.Mongo.Image,
		"BACKPACK_MONGO_CPUS":         v.Mongo.CPUs,
		"BACKPACK_MONGO_MEMORY":       v.Mongo.Memory,
		"BACKPACK_REDIS_IMAGE":        v.Redis.Image,
		"BACKPACK_REDIS_CPUS":         v.Redis.CPUs,
		"BACKPACK_REDIS_MEMORY":       v.Redis.Memory,
		"BACKPACK_WEB_IMAGE":          v.Web.Image,
		"BACKPACK_WEB_CPUS":           v.Web.CPUs,
		"BACKPACK_WEB_MEMORY":         v.Web.Memory,
	}
	return env
}

// Load validates v and loads backend.yml with it. Configs backed by a file of the template
// (nginx.conf) come back with Content filled from the embedded file and File cleared, so the
// project is self-contained: converting it never reads the disk.
func Load(ctx context.Context, v Vars) (*types.Project, error) {
	p, err := load(ctx, v)
	if err != nil {
		return nil, err
	}
	for name, c := range p.Configs {
		if c.File == "" {
			continue
		}
		b, err := fs.ReadFile(files, path.Clean(c.File))
		if err != nil {
			return nil, fmt.Errorf("config %s: %s is not a file of the template: %w", name, c.File, err)
		}
		c.Content, c.File = string(b), ""
		p.Configs[name] = c
	}
	return p, nil
}

// load loads the template as is: file references stay relative to the template's directory.
func load(ctx context.Context, v Vars) (*types.Project, error) {
	if err := v.Validate(); err != nil {
		return nil, err
	}
	v = v.WithDefaults()
	tmpl, err := fs.ReadFile(files, BackendFile)
	if err != nil {
		return nil, err
	}
	p, err := loader.LoadWithContext(ctx, types.ConfigDetails{
		WorkingDir:  ".",
		ConfigFiles: []types.ConfigFile{{Filename: BackendFile, Content: tmpl}},
		Environment: v.Environment(),
	}, func(o *loader.Options) {
		o.SetProjectName(v.Name, true)
		// Keep the model as written: no project-prefixed resource names, no default
		// network, relative paths left for `docker stack deploy` to resolve.
		o.SkipNormalization = true
		o.ResolvePaths = false
		o.SkipInclude = true
		o.SkipExtends = true
	})
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", BackendFile, err)
	}
	return p, nil
}

// composeFileVersion is the `version` Render writes: Docker Engine 20.10's `docker stack deploy`
// uses the legacy compose loader, which refuses a file without a 3.x version. 3.8 covers
// everything the template uses (config and secret names, external: true with name).
const composeFileVersion = "3.8"

// Render returns the stack for v as YAML that `docker stack deploy -c - NAME` accepts, from
// Docker Engine 20.10 on. The nginx config stays a file reference, ./nginx.conf, resolved by
// docker against its working directory (write it there with `backpack render --nginx-conf`).
func Render(ctx context.Context, v Vars) ([]byte, error) {
	p, err := load(ctx, v)
	if err != nil {
		return nil, err
	}
	out, err := p.MarshalYAML()
	if err != nil {
		return nil, err
	}
	out, err = legacyCompose(out)
	if err != nil {
		return nil, err
	}
	// Docker interpolates the file again; validation keeps '$' out of every variable, and
	// the template has none of its own, so none may remain.
	if bytes.ContainsRune(out, '$') {
		return nil, errors.New("rendered stack holds a '$', which docker would interpolate")
	}
	return out, nil
}
