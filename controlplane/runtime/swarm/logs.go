package swarm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/backpackhq/backpack/controlplane/runtime"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/pkg/stdcopy"
)

// Logs writes a service's logs from the service logs API, stdout and stderr demultiplexed into
// one stream, following new lines until ctx ends when asked to.
func (r *Runtime) Logs(ctx context.Context, name string, opts runtime.LogOptions, w io.Writer) error {
	service := opts.Service
	if service == "" {
		service = "api"
	}
	services, err := r.engine.ServiceList(ctx, swarm.ServiceListOptions{Filters: namespaceFilter(name)})
	if err != nil {
		return fmt.Errorf("logs of %s: list services: %w", name, err)
	}
	if len(services) == 0 {
		return fmt.Errorf("logs of %s: %w", name, runtime.ErrNotFound)
	}
	id := ""
	for _, s := range services {
		if s.Spec.Name == name+"_"+service {
			id = s.ID
		}
	}
	if id == "" {
		return fmt.Errorf("logs of %s: service %q: %w", name, service, runtime.ErrUnknownService)
	}
	tail := "all"
	if opts.Tail >= 0 {
		tail = strconv.Itoa(opts.Tail)
	}
	rc, err := r.engine.ServiceLogs(ctx, id, container.LogsOptions{
		ShowStdout: true, ShowStderr: true, Follow: opts.Follow, Tail: tail,
	})
	if err != nil {
		return fmt.Errorf("logs of %s_%s: %w", name, service, err)
	}
	defer rc.Close()
	if _, err := stdcopy.StdCopy(w, w, rc); err != nil && !errors.Is(err, context.Canceled) && ctx.Err() == nil {
		return fmt.Errorf("logs of %s_%s: %w", name, service, err)
	}
	return nil
}
