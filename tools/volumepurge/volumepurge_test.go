package volumepurge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/backpackhq/backpack/internal/swarmtest"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
)

// stackVolumes creates the named volumes of a new stack on the local engine and removes
// whatever is left of them when the test ends.
func stackVolumes(t *testing.T, cli *client.Client, names ...string) string {
	t.Helper()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	stack := "purge" + hex.EncodeToString(b)
	for _, n := range names {
		if _, err := cli.VolumeCreate(context.Background(), volume.CreateOptions{
			Name: stack + "_" + n, Labels: map[string]string{LabelNamespace: stack, swarmtest.TestLabel: "1"}}); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		ctx := context.Background()
		list, err := cli.VolumeList(ctx, volume.ListOptions{Filters: filters.NewArgs(filters.Arg("label", LabelNamespace+"="+stack))})
		if err != nil {
			t.Error(err)
			return
		}
		for _, v := range list.Volumes {
			if err := cli.VolumeRemove(ctx, v.Name, true); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
	return stack
}

// TestPurge removes a stack's volumes from the real local engine, and only its own.
func TestPurge(t *testing.T) {
	cli := swarmtest.Engine(t)
	ctx := context.Background()
	stack := stackVolumes(t, cli, "db", "files")
	other := stackVolumes(t, cli, "db")
	var removed []string
	if err := Purge(ctx, cli, stack, time.Second, func(v string) { removed = append(removed, v) }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(removed)
	if want := []string{stack + "_db", stack + "_files"}; !slices.Equal(removed, want) {
		t.Errorf("removed %v, want %v", removed, want)
	}
	for _, s := range []string{stack, other} {
		list, err := cli.VolumeList(ctx, volume.ListOptions{Filters: filters.NewArgs(filters.Arg("label", LabelNamespace+"="+s))})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(list.Volumes); s == stack && n != 0 || s == other && n != 1 {
			t.Errorf("stack %s has %d volumes after the purge of %s", s, n, stack)
		}
	}
	if err := Purge(ctx, cli, stack, time.Second, func(v string) { t.Errorf("removed %s again", v) }); err != nil {
		t.Errorf("purging nothing: %v", err)
	}
}

// TestPurgeInUse: a volume a container holds is retried for the window given, then reported
// as left, by name; the others go.
func TestPurgeInUse(t *testing.T) {
	cli := swarmtest.Engine(t)
	swarmtest.RequireImages(t, cli, swarmtest.APIImage)
	ctx := context.Background()
	stack := stackVolumes(t, cli, "db", "files")
	held := stack + "_db"
	// A container that exists holds its volumes, running or not; this one is never started.
	c, err := cli.ContainerCreate(ctx, &container.Config{Image: swarmtest.APIImage, Labels: map[string]string{swarmtest.TestLabel: "1"}},
		&container.HostConfig{Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: held, Target: "/data/db"}}}, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cli.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true}); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	start := time.Now()
	var removed []string
	err = Purge(ctx, cli, stack, 2*time.Second, func(v string) { removed = append(removed, v) })
	if err == nil || !strings.Contains(err.Error(), held) || !strings.Contains(err.Error(), "1 volumes") {
		t.Fatalf("purge with a held volume: %v", err)
	}
	if took := time.Since(start); took < 2*time.Second || took > 10*time.Second {
		t.Errorf("gave up after %s, want the 2 s window", took)
	}
	if !slices.Equal(removed, []string{stack + "_files"}) {
		t.Errorf("removed %v, want the free volume only", removed)
	}
}
