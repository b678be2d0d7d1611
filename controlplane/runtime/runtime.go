// Package runtime is the contract between the control plane and what actually runs backends:
// Docker Swarm in production, in-process coreapi instances for `backpack dev` and fast tests.
// The reconciler only speaks this interface, so both runtimes get the same lifecycle.
package runtime

import (
	"context"
	"errors"
	"io"
	"net/http"
)

// ErrNotFound: the runtime has nothing running (or left) under that name.
var ErrNotFound = errors.New("backend not found in runtime")

// ErrUnknownService: a logs request named a service the backend does not have.
var ErrUnknownService = errors.New("unknown service")

// Spec is what the control plane wants running for one backend.
type Spec struct {
	Name       string
	APIKey     string
	AdminToken string
	// Node is where the backend's stateful services were placed when it was first created;
	// "" lets the runtime choose (Apply returns its choice, which the control plane stores).
	Node string
	// CORSOrigins are the exact origins allowed to call the API with credentials: the site.
	CORSOrigins []string
	// APIReplicas is how many API tasks to run, all on Node; 0 means one. A runtime that
	// runs backends in-process (local) runs one whatever it says.
	APIReplicas int
	// Volumes starts the names of the backend's volumes ("" is Name); a runtime without
	// volumes (local) ignores it.
	Volumes string
}

// Progress receives human-readable steps while Apply or Remove work, for the panel's event
// stream.
type Progress func(message string)

// ServiceStatus is one service of a backend, as the runtime sees it now.
type ServiceStatus struct {
	Name      string
	Running   int
	Desired   int
	Node      string
	LastError string
}

// Status is a backend's services; Ready means every service runs its desired tasks and the API
// answers its readiness check.
type Status struct {
	Services []ServiceStatus
	Ready    bool
	// Failure is set when the runtime sees that the backend will not become ready as it is
	// (its tasks keep failing, say, because the image does not exist): the reconciler then
	// gives up this attempt at once instead of waiting for its timeout.
	Failure string
	// Reason, when set, is the one cause of the services that do not run, such as "node X is
	// down": the control plane shows it before the services' counts and their own errors.
	Reason string
}

// AllLines as LogOptions.Tail asks for every line the runtime keeps.
const AllLines = -1

// LogOptions select a backend's logs: one service (default "api"), the last Tail lines (0:
// none, as docker logs --tail 0; AllLines: all kept), and whether to keep streaming new lines
// until ctx ends.
type LogOptions struct {
	Service string
	Tail    int
	Follow  bool
}

// Runtime runs backends. Every method is idempotent and safe for concurrent use on different
// backends; the reconciler never runs two operations on one backend at once.
type Runtime interface {
	// Apply makes the backend exist and match spec, creating what is missing and leaving what
	// already matches; it returns the node the stateful services are placed on.
	Apply(ctx context.Context, spec Spec, progress Progress) (node string, err error)
	// Remove tears the backend down; with purge its data goes too, from node (the Spec.Node
	// Apply returned; "" when it never got one), where a runtime with several nodes keeps
	// it. Removing what does not exist succeeds.
	Remove(ctx context.Context, name, node string, purge bool, progress Progress) error
	// Status reports the backend's services; ErrNotFound when nothing of it runs.
	Status(ctx context.Context, name string) (Status, error)
	// Logs writes the selected log lines to w, then, with Follow, new ones until ctx ends.
	Logs(ctx context.Context, name string, opts LogOptions, w io.Writer) error
	// AdminURL is the base URL (scheme://host:port) at which the control plane reaches the
	// backend's private admin port.
	AdminURL(ctx context.Context, name string) (string, error)
	// Close stops what the runtime runs in-process (nothing, for Swarm) and releases it.
	Close() error
}

// Released is implemented by runtimes that run every backend's API from an image (Swarm): the
// control plane records which backends run the present one, to follow a new release across
// the fleet.
type Released interface {
	// APIImage is the image every backend's API is to run.
	APIImage() string
}

// Router is implemented by runtimes whose backends are served through the control plane's own
// listener (the local runtime), rather than by a proxy in front such as Traefik.
type Router interface {
	// PublicHandler serves NAME-be.DOMAIN: the backend's public API.
	PublicHandler(name string) (http.Handler, bool)
	// SiteHandler serves NAME.DOMAIN: the backend's current site release.
	SiteHandler(name string) (http.Handler, bool)
}
