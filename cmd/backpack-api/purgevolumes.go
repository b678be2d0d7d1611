package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/backpackhq/backpack/tools/names"
	"github.com/backpackhq/backpack/tools/volumepurge"
	"github.com/docker/docker/client"
)

// purgeVolumes is `backpack-api purge-volumes NAME`: the one-shot Swarm job the control plane
// runs on a purged backend's node removes the backend's volumes through that node's engine
// (its socket mounted, DOCKER_HOST or the default), prints each one removed, and fails if any
// is left. With volumepurge.NodeEnv set (the job sets it to its node's id), an engine that is
// not that node's is refused rather than purged by mistake.
func purgeVolumes(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("backpack-api "+volumepurge.Command, flag.ContinueOnError)
	inUse := fs.Duration("in-use-wait", time.Minute, "how long to retry a volume still in use by the backend's stopping containers")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%s: usage: backpack-api %s [--in-use-wait DURATION] NAME", volumepurge.Command, volumepurge.Command)
	}
	stack := fs.Arg(0)
	if err := names.Backend(stack); err != nil {
		return fmt.Errorf("%s: %w", volumepurge.Command, err)
	}
	engine, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return fmt.Errorf("%s: Docker client: %w", volumepurge.Command, err)
	}
	defer engine.Close()
	if want := getenv(volumepurge.NodeEnv); want != "" {
		info, err := engine.Info(ctx)
		if err != nil {
			return fmt.Errorf("%s: Docker Engine at %s: %w", volumepurge.Command, engine.DaemonHost(), err)
		}
		if info.Swarm.NodeID != want {
			return fmt.Errorf("%s: the engine at %s is swarm node %q, not this task's node %q: refusing to purge another node's volumes",
				volumepurge.Command, engine.DaemonHost(), info.Swarm.NodeID, want)
		}
	}
	removed := 0
	err = volumepurge.Purge(ctx, engine, stack, *inUse, func(v string) {
		removed++
		fmt.Fprintln(stdout, "removed volume", v)
	})
	if err != nil {
		return fmt.Errorf("%s %s: %w", volumepurge.Command, stack, err)
	}
	fmt.Fprintf(stdout, "%d volumes of %s removed\n", removed, stack)
	return nil
}
