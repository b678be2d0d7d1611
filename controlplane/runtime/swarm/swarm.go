// Package swarm is the production runtime: every backend is a Docker Swarm stack (services
// NAME_api, NAME_mongo, NAME_redis, NAME_web) made from stacktemplates/backend.yml, converted
// by package convert and driven through the Docker Engine API, never the docker CLI.
//
// What it creates carries com.docker.stack.namespace=NAME, exactly like `docker stack deploy`,
// so `docker stack ls`, `docker stack ps NAME` and `docker stack rm NAME` work on backends the
// control plane made. The control plane itself runs on the swarm (deploy/platform.yml) and
// reaches each API's private admin port by its NAME-admin alias on backpack_admin.
package swarm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/backpackhq/backpack/controlplane/runtime"
	"github.com/backpackhq/backpack/stacktemplates"
	"github.com/docker/docker/client"
)

// The networks every backend joins, created once per swarm (by the operator or, when missing,
// by the runtime): Traefik reaches the api and web services over the public one, the control
// plane reaches admin ports over the admin one.
const (
	PublicNetwork = "backpack_public"
	AdminNetwork  = "backpack_admin"
)

// AdminPort is the api service's private admin port (BACKPACK_ADMIN_PORT in backend.yml).
const AdminPort = 3001

// Config is how backends are deployed: the swarm to talk to and what goes into every stack.
type Config struct {
	// Engine is a client of a manager's Engine API (the control plane mounts the manager's
	// socket); create it with client.WithAPIVersionNegotiation to support Engine 20.10 on.
	Engine *client.Client
	// Domain is the parent domain: a backend answers at NAME-be.DOMAIN and NAME.DOMAIN.
	Domain string
	// TLS makes the backends' Traefik routers HTTPS with certificates from CertResolver;
	// default: when Domain can get a public certificate (stacktemplates.NeedsCertificate).
	TLS          *bool
	CertResolver string // default "letsencrypt"
	EntryPoints  string // Traefik entry points; default websecure with TLS, web without
	// API, Mongo, Redis and Web choose images and limits; empty fields take the
	// stacktemplates defaults (official images).
	API, Mongo, Redis, Web stacktemplates.Service
	// TrustedProxies are the CIDRs every backend's API believes X-Forwarded-For from;
	// default stacktemplates.PublicSubnet, backpack_public's subnet, where Traefik is.
	TrustedProxies []string
	// AdminClient is how the control plane reaches admin ports (readiness checks); nil means
	// a client with short timeouts, which works from a container on backpack_admin.
	AdminClient *http.Client
	// Logger receives the runtime's own logs; nil means slog.Default().
	Logger *slog.Logger
	// FailedTasks is how many failed tasks of one service, with none running, make Status
	// report the backend as failing instead of still converging (default 3).
	FailedTasks int
}

// Runtime runs backends as Swarm stacks. It implements runtime.Runtime.
type Runtime struct {
	cfg    Config
	engine *client.Client
	admin  *http.Client
	log    *slog.Logger

	// placing serialises the placement of new backends; reserved holds the node label value
	// chosen for each backend whose Apply is still creating its services (see place).
	placing  sync.Mutex
	reserved map[string]string

	// purgeByJob purges volumes on this manager's own node by the purge job too, as on any
	// other node: tests take the job's path on a one-node swarm.
	purgeByJob bool
}

var _ runtime.Runtime = (*Runtime)(nil)

// New checks that the engine is a manager of an active swarm and that the stack template
// loads with cfg, so that a misconfiguration stops the control plane at start rather than at
// the first create.
func New(ctx context.Context, cfg Config) (*Runtime, error) {
	if cfg.Engine == nil {
		return nil, errors.New("swarm runtime: an Engine API client is required")
	}
	if cfg.TLS == nil {
		tls := stacktemplates.NeedsCertificate(cfg.Domain)
		cfg.TLS = &tls
	}
	if cfg.FailedTasks <= 0 {
		cfg.FailedTasks = 3
	}
	r := &Runtime{cfg: cfg, engine: cfg.Engine, admin: cfg.AdminClient, log: cfg.Logger}
	if r.admin == nil {
		r.admin = &http.Client{Timeout: 5 * time.Second}
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	if err := r.vars(runtime.Spec{Name: "check", Node: "check"}, 1).Validate(); err != nil {
		return nil, fmt.Errorf("swarm runtime: %w", err)
	}
	info, err := r.engine.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("swarm runtime: Docker Engine API: %w", err)
	}
	if info.Swarm.LocalNodeState != "active" || !info.Swarm.ControlAvailable {
		return nil, fmt.Errorf("swarm runtime: the engine at %s is not a swarm manager (swarm state %q); run docker swarm init, or point DOCKER_HOST at a manager",
			r.engine.DaemonHost(), info.Swarm.LocalNodeState)
	}
	if err := r.ensurePlatformNetworks(ctx); err != nil {
		return nil, fmt.Errorf("swarm runtime: %w", err)
	}
	r.checkPublicSubnet(ctx)
	return r, nil
}

// vars are the template variables of one backend.
func (r *Runtime) vars(spec runtime.Spec, secretsVersion int) stacktemplates.Vars {
	return stacktemplates.Vars{
		Name:           spec.Name,
		Domain:         r.cfg.Domain,
		Node:           spec.Node,
		TLS:            *r.cfg.TLS,
		CertResolver:   r.cfg.CertResolver,
		EntryPoints:    r.cfg.EntryPoints,
		CORSOrigins:    spec.CORSOrigins,
		SecretsVersion: secretsVersion,
		TrustedProxies: r.cfg.TrustedProxies,
		APIReplicas:    spec.APIReplicas,
		Volumes:        spec.Volumes,
		API:            r.cfg.API,
		Mongo:          r.cfg.Mongo,
		Redis:          r.cfg.Redis,
		Web:            r.cfg.Web,
	}
}

// APIImage is the image every backend's api runs: the configured one (BACKPACK_API_IMAGE),
// else the default.
func (r *Runtime) APIImage() string {
	return r.vars(runtime.Spec{}, 1).WithDefaults().API.Image
}

// AdminURL is the api's admin port by its alias on backpack_admin, which only a container on
// that network (the control plane) can resolve and reach.
func (r *Runtime) AdminURL(_ context.Context, name string) (string, error) {
	return fmt.Sprintf("http://%s-admin:%d", name, AdminPort), nil
}

// Close releases the Engine API client; the backends keep running on the swarm.
func (r *Runtime) Close() error { return r.engine.Close() }
