// Package volumepurge removes a stack's volumes from one Docker engine. Swarm volumes are
// local to the node that ran the tasks, and a manager's Engine API only reaches its own, so
// purging a backend placed on another node runs `backpack-api purge-volumes NAME` there as a
// one-shot Swarm job; this package is what that command does, and what the job's spec and the
// command agree on.
package volumepurge

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
)

// Command is the backpack-api subcommand that purges a stack's volumes on its own engine:
// backpack-api purge-volumes NAME.
const Command = "purge-volumes"

// NodeEnv names the environment variable in which the job tells the command the Swarm node
// its task was scheduled on ({{.Node.ID}}), so that the command refuses to purge an engine
// that is not that node's (a socket mounted from elsewhere).
const NodeEnv = "BACKPACK_PURGE_NODE"

// LabelNamespace marks every object of a stack, as `docker stack deploy` does; the volumes
// purged are those carrying it with the stack's name.
const LabelNamespace = "com.docker.stack.namespace"

// Purge removes every volume of stack on engine and calls removed with each name. A volume
// still held by a container (one of the stack's, still stopping) is retried until retry has
// passed; Purge then fails naming what is left. Volumes already gone count as removed.
func Purge(ctx context.Context, engine client.VolumeAPIClient, stack string, retry time.Duration, removed func(volume string)) error {
	deadline := time.Now().Add(retry)
	args := filters.NewArgs(filters.Arg("label", LabelNamespace+"="+stack))
	for {
		list, err := engine.VolumeList(ctx, volume.ListOptions{Filters: args})
		if err != nil {
			return fmt.Errorf("list the volumes of %s: %w", stack, err)
		}
		var left []string
		for _, v := range list.Volumes {
			err := engine.VolumeRemove(ctx, v.Name, false)
			switch {
			case err == nil || errdefs.IsNotFound(err):
				removed(v.Name)
			case errdefs.IsConflict(err):
				left = append(left, fmt.Sprintf("%s (%v)", v.Name, err))
			default:
				return fmt.Errorf("remove volume %s: %w", v.Name, err)
			}
		}
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			slices.Sort(left)
			return fmt.Errorf("%d volumes of %s still in use after %s: %s", len(left), stack, retry, strings.Join(left, "; "))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("purge the volumes of %s: %w", stack, ctx.Err())
		case <-time.After(min(500*time.Millisecond, retry)):
		}
	}
}
