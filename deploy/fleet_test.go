package deploy_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/backpackhq/backpack/internal/platformtest"
	"github.com/backpackhq/backpack/internal/swarmtest"
)

// TestFleetUpgradeUnderLoad is issue 18's fleet upgrade: three backends under continuous load
// through Traefik over HTTPS while the operator releases a new API image (`docker stack
// deploy` with a new BACKPACK_API_IMAGE). The control plane rolls, the new one re-applies
// every backend (a bounded number at a time), each API updates start-first, and not one
// request fails. The listing the panel follows shows the release reaching backend after
// backend; the figures are logged.
func TestFleetUpgradeUnderLoad(t *testing.T) {
	apiImage := relabel(t, swarmtest.APIImage, "backpack-test/api:fleet")
	p := platformtest.Deploy(t, platformtest.Options{Traefik: true, TLS: true})
	var names []string
	var loads []*load
	for i := range 3 {
		name := platformtest.UniqueName(fmt.Sprintf("fleet%d", i))
		names = append(names, name)
		loads = append(loads, seededLoad(t, p, name))
	}
	for _, l := range loads {
		l.start(2, 1, 2)
	}
	phases := map[string]*[]string{}
	for i, l := range loads {
		phases[names[i]] = &[]string{}
		defer l.finish(phases[names[i]])
	}
	time.Sleep(5 * time.Second)
	r0 := 0
	for _, l := range loads {
		n, _ := l.counts()
		r0 += n
	}

	took, reached := release(t, p, names, apiImage, 8*time.Minute)
	// The websockets of the old API tasks close at the end of their drain: give the clients
	// time to come back and the new tasks' broadcasts time to reach them.
	time.Sleep(10 * time.Second)
	r1, failed := 0, 0
	for _, l := range loads {
		n, f := l.counts()
		r1, failed = r1+n, failed+f
	}
	t.Logf("fleet upgrade of %d backends: %.1fs from docker stack deploy until every API ran the new image alone (per backend: %v); %d requests during it and the 10 s after, %d failed",
		len(names), took.Seconds(), reached, r1-r0, failed)
}

// release releases image as the operator does (`docker stack deploy` with a new
// BACKPACK_API_IMAGE) and waits until every backend of names runs it alone. It follows the
// release in the listing the panel shows, logging each step, and returns how long it took in
// all and until each backend's listing said it runs the image.
func release(t testing.TB, p *platformtest.Platform, names []string, image string, within time.Duration) (time.Duration, map[string]time.Duration) {
	t.Helper()
	start := time.Now()
	p.StackDeploy("BACKPACK_API_IMAGE=" + image)
	last, reached := -1, map[string]time.Duration{}
	deadline := start.Add(within)
	for len(reached) < len(names) {
		if time.Now().After(deadline) {
			t.Fatalf("the release reached %d of %d backends after %s: %v", len(reached), len(names), within, reached)
		}
		var list struct {
			Backends []platformtest.Backend `json:"backends"`
			APIImage string                 `json:"apiImage"`
		}
		if a := p.Send(http.MethodGet, "/api/backends", nil); a.Status == http.StatusOK {
			a.Decode(&list)
			upgrading := 0
			for _, b := range list.Backends {
				if b.Upgrading {
					upgrading++
				}
				if list.APIImage == image && b.APIImage == image && !b.Upgrading && reached[b.Name] == 0 {
					reached[b.Name] = time.Since(start)
				}
			}
			if len(reached) != last {
				last = len(reached)
				t.Logf("%5.1fs: the panel's listing: release %s, %d of %d backends run it, %d upgrading", time.Since(start).Seconds(), list.APIImage, len(reached), len(names), upgrading)
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	for _, name := range names {
		waitRolled(t, p, name+"_api", image, 2*time.Minute)
	}
	return time.Since(start), reached
}
