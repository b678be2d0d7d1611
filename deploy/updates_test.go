package deploy_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/backpackhq/backpack/internal/platformtest"
	"github.com/backpackhq/backpack/internal/swarmtest"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	dockerswarm "github.com/docker/docker/api/types/swarm"
)

// TestUpdatesUnderLoad is issue 15's "no failed request during updates": under continuous
// load through Traefik over HTTPS (end users' reads and writes in cookie mode, their wss://
// websockets, the backend's site, the panel's requests and its live stream), the platform is
// updated as an operator updates it, and not one HTTP request may fail:
//   - `docker stack deploy` with new images of the control plane and of the backends' API and
//     web: the control plane rolls, and the new one re-applies every backend with the new
//     images, so each backend's api and web services roll too;
//   - an API-key rotation, after which the load uses the new key at once.
//
// Websockets are closed by the update; their clients dial again by themselves and must miss
// no broadcast of a write sent after they reconnected.
func TestUpdatesUnderLoad(t *testing.T) {
	apiImage := relabel(t, swarmtest.APIImage, "backpack-test/api:update")
	cpImage := relabel(t, swarmtest.ControlPlaneImage, "backpack-test/controlplane:update")
	webImage := relabel(t, swarmtest.WebImage, "backpack-test/nginx:update")
	p := platformtest.Deploy(t, platformtest.Options{Traefik: true, TLS: true})
	name := platformtest.UniqueName("upd")
	l := seededLoad(t, p, name)
	b, _ := p.Backend(name)
	l.start(4, 2, 6)
	var phases []string
	// However the phases end (a wait that times out stops the test), the load stops and its
	// figures and failures are logged.
	defer l.finish(&phases)
	phase := func(title string, f func()) {
		r0, f0 := l.counts()
		start := time.Now()
		defer func() {
			r1, f1 := l.counts()
			line := fmt.Sprintf("%-28s %6.1fs %6d requests %4d failed", title, time.Since(start).Seconds(), r1-r0, f1-f0)
			phases = append(phases, line)
			t.Log(line)
		}()
		f()
	}
	phase("steady load", func() { time.Sleep(10 * time.Second) })
	phase("api and control-plane update", func() {
		p.StackDeploy("BACKPACK_API_IMAGE="+apiImage, "BACKPACK_IMAGE="+cpImage, "BACKPACK_WEB_IMAGE="+webImage)
		waitRolled(t, p, platformtest.Stack+"_controlplane", cpImage, 5*time.Minute)
		p.WaitReady(time.Minute)
		waitRolled(t, p, name+"_api", apiImage, 5*time.Minute)
		waitRolled(t, p, name+"_web", webImage, 5*time.Minute)
		// The websockets of the old API task close at the end of its drain: give the clients
		// time to come back and the new task's broadcasts time to reach them.
		time.Sleep(10 * time.Second)
	})
	phase("api-key rotation", func() {
		var out struct {
			APIKey string `json:"apiKey"`
		}
		p.MustStatus(http.StatusOK, p.Send(http.MethodPost, "/api/backends/"+name+"/api-key", nil)).Decode(&out)
		if out.APIKey == "" || out.APIKey == b.APIKey {
			t.Errorf("rotated key = %q", out.APIKey)
		} else {
			l.key.Store(out.APIKey)
		}
		// Past the old key's overlap, so that requests with the new key alone are seen.
		time.Sleep(15 * time.Second)
	})
}

// finish stops the load, logs its figures (phases: one line each) and fails the test for
// every failed request, websocket client that never reconnected, and broadcast missed.
func (l *load) finish(phases *[]string) {
	t := l.t
	l.stop()
	requests, failures := l.counts()
	missed := l.missing(false)
	l.mu.Lock()
	defer l.mu.Unlock()
	reconnects, received := 0, 0
	var clientLines []string
	for _, c := range l.clients {
		reconnects += len(c.sessions) - 1
		var ends []string
		for _, s := range c.sessions {
			received += len(s.got)
			ends = append(ends, fmt.Sprintf("%d messages, %d broadcasts of the load, ended by %s; first other message %s", s.messages, len(s.got), s.end, s.other))
		}
		clientLines = append(clientLines, fmt.Sprintf("client %d: %d connections: %q", c.id, len(c.sessions), ends))
		if len(c.sessions) < 2 && !t.Failed() {
			t.Errorf("websocket client %d never reconnected (%d connections): the update did not move it", c.id, len(c.sessions))
		}
	}
	t.Logf("figures: %d requests (%v), %d failed; %d writes; websockets: %d clients, %d reconnects, %d broadcasts received; panel stream ends: %v",
		requests, l.sent, failures, len(l.writes), len(l.clients), reconnects, received, l.streams)
	for _, line := range *phases {
		t.Log("phase " + line)
	}
	for _, line := range clientLines {
		t.Log(line)
	}
	if failures > 0 {
		t.Errorf("%d of %d requests failed during the updates:\n%s", failures, requests, strings.Join(l.failures, "\n"))
	}
	if len(missed) > 0 {
		t.Errorf("websocket clients missed broadcasts of writes sent after they connected:\n%s", strings.Join(missed, "\n"))
	}
}

// relabel builds a new image from base with one more label: the same program under a new
// image id and tag, as a release would be. The tag goes away when the test ends, after the
// platform (cleanups run last-registered first, and the platform is deployed after this).
func relabel(t testing.TB, base, tag string) string {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	cmd := exec.Command("docker", "build", "--quiet", "-t", tag, "-")
	cmd.Stdin = strings.NewReader(fmt.Sprintf("FROM %s\nLABEL org.backpack.test.release=%s\n", base, hex.EncodeToString(b)))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker build %s from %s: %v\n%s", tag, base, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("docker", "rmi", tag).CombinedOutput(); err != nil {
			t.Logf("docker rmi %s: %v\n%s", tag, err, out)
		}
	})
	return tag
}

// waitRolled waits until the service runs image and nothing else: its spec names it, its
// update (if any) completed, and its only running container is of that image.
func waitRolled(t testing.TB, p *platformtest.Platform, service, image string, within time.Duration) {
	t.Helper()
	ctx := context.Background()
	img, err := p.Cli.ImageInspect(ctx, image)
	if err != nil {
		t.Fatalf("inspect %s: %v", image, err)
	}
	deadline := time.Now().Add(within)
	last := ""
	for time.Now().Before(deadline) {
		last = rolled(ctx, p, service, image, img.ID)
		if last == "" {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("%s does not run %s alone after %s: %s", service, image, within, last)
}

// rolled says what keeps service from running image (id) alone, or "".
func rolled(ctx context.Context, p *platformtest.Platform, service, image, id string) string {
	s, _, err := p.Cli.ServiceInspectWithRaw(ctx, service, dockerswarm.ServiceInspectOptions{})
	if err != nil {
		return err.Error()
	}
	if spec := s.Spec.TaskTemplate.ContainerSpec.Image; spec != image && !strings.HasPrefix(spec, image+"@") {
		return "its spec names " + spec
	}
	if u := s.UpdateStatus; u != nil && u.State != dockerswarm.UpdateStateCompleted {
		return fmt.Sprintf("its update is %s (%s)", u.State, u.Message)
	}
	list, err := p.Cli.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(
		filters.Arg("label", "com.docker.swarm.service.name="+service), filters.Arg("status", "running"))})
	if err != nil {
		return err.Error()
	}
	if len(list) != 1 || list[0].ImageID != id {
		var images []string
		for _, c := range list {
			images = append(images, c.Image)
		}
		return fmt.Sprintf("its running containers are of %v", images)
	}
	return ""
}
