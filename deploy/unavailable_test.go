package deploy_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/backpackhq/backpack/internal/platformtest"
	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	dockerswarm "github.com/docker/docker/api/types/swarm"
)

// TestUnavailableBackend is issue 18's "an unavailable backend says so", through Traefik over
// HTTPS: while a backend's api (then its web) has no task, its host answers 503 at once, JSON
// backend_unavailable for the API and a short page for the site, plain HTTP still redirects to
// HTTPS, and both answer again once scaled back; then its Mongo task is killed under a
// continuous write load, and every write fails with 503 or is acknowledged and kept.
// Latencies, counts and the timeline are printed.
func TestUnavailableBackend(t *testing.T) {
	p := platformtest.Deploy(t, platformtest.Options{Traefik: true, TLS: true})
	name := platformtest.UniqueName("flaky")
	b := p.Create(name)
	p.FirstAnswer(p.APIURL(name)+"/healthz", 2*time.Minute)
	p.FirstAnswer(p.SiteURL(name)+"/", 2*time.Minute)
	t.Run("no api task", func(t *testing.T) {
		p.T = t
		expectUnavailable(t, p, name, "api", p.APIURL(name)+"/healthz", func(a platformtest.Answer) bool {
			var e httpapi.ErrorBody
			return json.Unmarshal(a.Body, &e) == nil && e.Error.Code == "backend_unavailable" &&
				strings.HasPrefix(a.Header.Get("Content-Type"), "application/json")
		})
	})
	t.Run("no web task", func(t *testing.T) {
		p.T = t
		expectUnavailable(t, p, name, "web", p.SiteURL(name)+"/", func(a platformtest.Answer) bool {
			return strings.HasPrefix(a.Header.Get("Content-Type"), "text/html") && strings.Contains(string(a.Body), "Backend unavailable")
		})
	})
	t.Run("mongo killed under writes", func(t *testing.T) {
		p.T = t
		testMongoKilled(t, p, name, b.APIKey)
	})
}

// expectUnavailable scales the backend's service to 0, waits for its host to say it is
// unavailable (is), checks that every answer after that is (and plain HTTP still redirects),
// prints how long Traefik took and the slowest answer, then scales back and waits for the
// backend's own answer.
func expectUnavailable(t *testing.T, p *platformtest.Platform, name, service, url string, is func(platformtest.Answer) bool) {
	c := p.Client(nil)
	c.Timeout = 30 * time.Second // a safety bound, not a measure
	get := func() (platformtest.Answer, time.Duration) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		start := time.Now()
		a := platformtest.Do(t, c, req)
		return a, time.Since(start)
	}
	scale(t, p, name+"_"+service, 0)
	scaled := time.Now()
	others := map[int]int{}
	for {
		a, _ := get()
		if a.Status == http.StatusServiceUnavailable && is(a) {
			break
		}
		others[a.Status]++
		if time.Since(scaled) > 2*time.Minute {
			t.Fatalf("%s still answers %d %s two minutes after %s was scaled to 0", url, a.Status, a.Body, service)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("%s scaled to 0: unavailable answers after %s (before that: %v, the draining task and Traefik's poll)",
		service, time.Since(scaled).Round(time.Millisecond), others)
	var slowest time.Duration
	for range 30 {
		a, took := get()
		if a.Status != http.StatusServiceUnavailable || !is(a) || a.Header.Get("Retry-After") == "" {
			t.Fatalf("%s with no %s task: %d %v %s", url, service, a.Status, a.Header, a.Body)
		}
		slowest = max(slowest, took)
	}
	t.Logf("%s with no %s task: 30 × 503, slowest %s", url, service, slowest.Round(time.Millisecond))
	noRedirect := p.Client(nil)
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	plain := "http://" + strings.TrimPrefix(url, "https://")
	req, _ := http.NewRequest(http.MethodGet, plain, nil)
	if a := platformtest.Do(t, noRedirect, req); a.Status != http.StatusMovedPermanently && a.Status != http.StatusPermanentRedirect {
		t.Errorf("%s with no %s task: %d, want the redirect to https", plain, service, a.Status)
	}
	scale(t, p, name+"_"+service, 1)
	t.Logf("%s scaled back to 1: answers after %s", service, p.FirstAnswer(url, 3*time.Minute).Round(time.Millisecond))
	// The backend's own answer again (a site with nothing uploaded answers its own 404).
	if a, _ := get(); a.Status >= 500 || is(a) {
		t.Fatalf("%s after scaling %s back: %d %s", url, service, a.Status, a.Body)
	}
}

// scale sets a service's replicas through the Engine API, as `docker service scale` does.
func scale(t *testing.T, p *platformtest.Platform, service string, replicas uint64) {
	t.Helper()
	ctx := context.Background()
	s, _, err := p.Cli.ServiceInspectWithRaw(ctx, service, dockerswarm.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Spec.Mode.Replicated.Replicas = &replicas
	if _, err := p.Cli.ServiceUpdate(ctx, s.ID, s.Version, s.Spec, dockerswarm.ServiceUpdateOptions{}); err != nil {
		t.Fatalf("scale %s to %d: %v", service, replicas, err)
	}
}

// testMongoKilled kills the backend's Mongo container (SIGKILL) while one end user writes
// continuously through Traefik, until writes have succeeded again for a while after Swarm
// restarted it: no answer may be other than 201 or 503, and every acknowledged write must be
// there afterwards.
func testMongoKilled(t *testing.T, p *platformtest.Platform, name, apiKey string) {
	ann := p.EndUser(name, apiKey)
	ann.MustStatus(http.StatusCreated, ann.Send(http.MethodPost, "/auth/register", map[string]any{"email": "kill@example.com", "password": "password123"}))
	ann.Login("kill@example.com", "password123")
	ann.MustStatus(http.StatusCreated, ann.Send(http.MethodPost, "/collections", map[string]any{"name": "ledger"}))

	var acked []string
	codes := map[string]int{}
	var killedAt, firstFailure, lastFailure time.Time
	write := func(i int) bool {
		a := ann.Send(http.MethodPost, "/ledger", map[string]any{"i": i})
		switch a.Status {
		case http.StatusCreated:
			var doc struct {
				ID string `json:"_id"`
			}
			a.Decode(&doc)
			acked = append(acked, doc.ID)
			return true
		case http.StatusServiceUnavailable:
			var e httpapi.ErrorBody
			_ = json.Unmarshal(a.Body, &e)
			codes[e.Error.Code]++
			if e.Error.Code == "" {
				t.Errorf("write %d: 503 without the contract's error shape: %s", i, a.Body)
			} else if a.Header.Get("Retry-After") == "" {
				t.Errorf("write %d: 503 %s without Retry-After", i, e.Error.Code)
			}
			if firstFailure.IsZero() {
				firstFailure = time.Now()
			}
			lastFailure = time.Now()
			return false
		}
		t.Errorf("write %d: %d %s (only 201 or 503 may answer)", i, a.Status, a.Body)
		return false
	}
	i := 0
	for ; i < 50; i++ {
		write(i)
	}
	killMongo(t, p, name)
	killedAt = time.Now()
	okAfter := 0
	for deadline := killedAt.Add(3 * time.Minute); okAfter < 50; i++ { // a safety bound
		if write(i) && !firstFailure.IsZero() {
			okAfter++
		}
		if time.Now().After(deadline) {
			t.Fatalf("writes did not succeed again within 3 minutes of the kill (503s: %v)", codes)
		}
	}
	failed := 0
	for _, n := range codes {
		failed += n
	}
	lost := 0
	for _, id := range acked {
		if a := ann.Send(http.MethodGet, "/ledger/"+id, nil); a.Status != http.StatusOK {
			lost++
			t.Errorf("acknowledged write %s: %d %s", id, a.Status, a.Body)
		}
	}
	t.Logf("mongo killed under writes: %d writes, %d acknowledged, %d failed with 503 %v, lost %d", i, len(acked), failed, codes, lost)
	if !firstFailure.IsZero() {
		t.Logf("timeline: first 503 %s after the kill, last %s after it", firstFailure.Sub(killedAt).Round(time.Millisecond), lastFailure.Sub(killedAt).Round(time.Millisecond))
	} else {
		t.Log("no write failed: the kill fell between writes and Mongo restarted unnoticed")
	}
}

// killMongo kills the backend's Mongo container (SIGKILL); Swarm starts a new task on the same
// volume.
func killMongo(t *testing.T, p *platformtest.Platform, name string) {
	t.Helper()
	ctx := context.Background()
	list, err := p.Cli.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(
		filters.Arg("label", "com.docker.swarm.service.name="+name+"_mongo"))})
	if err != nil || len(list) == 0 {
		t.Fatalf("mongo container of %s: %v %v", name, list, err)
	}
	for _, c := range list {
		if err := p.Cli.ContainerKill(ctx, c.ID, "KILL"); err != nil {
			t.Fatal(err)
		}
	}
}
