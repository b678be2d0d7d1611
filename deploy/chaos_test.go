//go:build chaos

package deploy_test

import (
	"os"
	"strconv"
	"testing"

	"github.com/backpackhq/backpack/internal/platformtest"
)

// TestChaosCrashTrials is issue 18's crash trials (`make chaos`, built with -tags chaos: too long for make test): the control
// plane killed with SIGKILL at random moments during creates, updates, API-key rotations and
// deletes, BACKPACK_CHAOS_TRIALS times (20 by default); after each restart every backend
// converges to its desired state with no duplicate services and no leaked Swarm objects.
func TestChaosCrashTrials(t *testing.T) {
	trials := 20
	if v := os.Getenv(crashTrialsEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a number of trials", crashTrialsEnv, v)
		}
		trials = n
	}
	p := platformtest.Deploy(t, platformtest.Options{Traefik: true, TLS: true})
	runCrashTrials(t, p, trials)
}
