package main

import (
	"context"
	"strings"
	"testing"

	"github.com/backpackhq/backpack/internal/swarmtest"
	"github.com/backpackhq/backpack/tools/volumepurge"
)

// TestPurgeVolumesRefuses: purge-volumes wants one backend name, and, told which swarm node
// its task runs on, refuses an engine that is another node's rather than purge it.
func TestPurgeVolumesRefuses(t *testing.T) {
	noEnv := func(string) string { return "" }
	for _, args := range [][]string{{}, {"a", "b"}, {"Not_A_Name"}, {"../x"}} {
		var out strings.Builder
		if err := run(context.Background(), append([]string{volumepurge.Command}, args...), noEnv, &out, nil); err == nil {
			t.Errorf("purge-volumes %v: accepted", args)
		}
	}

	swarmtest.Engine(t)
	otherNode := func(k string) string {
		if k == volumepurge.NodeEnv {
			return "another-node-id"
		}
		return ""
	}
	var out strings.Builder
	err := run(context.Background(), []string{volumepurge.Command, "shop"}, otherNode, &out, nil)
	if err == nil || !strings.Contains(err.Error(), `not this task's node "another-node-id"`) {
		t.Errorf("purge-volumes on another node's engine: %v", err)
	}
	if out.Len() != 0 {
		t.Errorf("output: %q", out.String())
	}
}
