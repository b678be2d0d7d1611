//go:build chaos

package deploy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/backpackhq/backpack/internal/platformtest"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
)

// soakDurationEnv sets how long TestChaosSoak runs (a Go duration; 10m by default).
const soakDurationEnv = "BACKPACK_SOAK_DURATION"

// soakBackends is how many backends share the soak's load.
const soakBackends = 5

// soakSampleEvery is how often the soak samples memory.
const soakSampleEvery = 30 * time.Second

// TestChaosSoak is issue 18's soak run (`make chaos`, built with -tags chaos): for
// BACKPACK_SOAK_DURATION (10 minutes by default) end users of five backends read, write, hold
// websockets and upload, fetch and delete files through Traefik over HTTPS, while a developer's
// panel polls and follows the listing, and the memory of the control plane and of every
// backend's API task is sampled every 30 s. Every failed request and every missed broadcast
// fails the test; the memory series is printed, with the last third's mean against the first
// third's, not asserted.
func TestChaosSoak(t *testing.T) {
	duration := 10 * time.Minute
	if v := os.Getenv(soakDurationEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("%s=%q: want a duration such as 10m", soakDurationEnv, v)
		}
		duration = d
	}
	p := platformtest.Deploy(t, platformtest.Options{Traefik: true, TLS: true})
	var names []string
	for range soakBackends {
		name := platformtest.UniqueName("soak")
		p.Ask(name)
		names = append(names, name)
	}
	var loads []*load
	for _, name := range names {
		loads = append(loads, soakLoad(t, p, name))
	}
	mem := &memorySeries{}
	mem.sample(t, p, names)
	start := time.Now()
	for _, l := range loads {
		l.start(1, 1, 2)
		u := l.users[0]
		l.loop(func() { l.fileRoundTrip(u) })
	}
	for time.Since(start) < duration {
		time.Sleep(min(soakSampleEvery, duration-time.Since(start)))
		mem.sample(t, p, names)
	}
	elapsed := time.Since(start)
	for _, l := range loads {
		l.stop()
	}
	for _, name := range names {
		p.MustStatus(http.StatusAccepted, p.Send(http.MethodDelete, "/api/backends/"+name+"?purge=true", nil))
	}
	soakReport(t, loads, mem, elapsed)
	for _, name := range names {
		p.WaitGone(name, 4*time.Minute)
	}
}

// soakLoad waits until the backend runs and seeds a load of it (seedLoad), not started.
func soakLoad(t *testing.T, p *platformtest.Platform, name string) *load {
	return seedLoad(t, p, p.WaitState(name, "running", 5*time.Minute))
}

// fileRoundTrip uploads a small file as the user, downloads it and deletes it, so that the
// soak's files do not pile up.
func (l *load) fileRoundTrip(u *platformtest.EndUser) {
	seq := l.seq.Add(1)
	content := strings.Repeat(fmt.Sprintf("file %d of the soak\n", seq), 100)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", fmt.Sprintf("soak-%d.txt", seq))
	_, _ = fw.Write([]byte(content))
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, l.p.APIURL(l.name)+"/files", &body)
	req.Header.Set("X-API-Key", l.key.Load().(string))
	req.Header.Set("Origin", u.Origin())
	req.Header.Set("Content-Type", mw.FormDataContentType())
	answer, ok := l.do("upload", u.HTTP, req, http.StatusCreated)
	if !ok {
		return
	}
	var meta struct {
		Owner    string `json:"owner"`
		Filename string `json:"filename"`
	}
	if err := json.Unmarshal(answer, &meta); err != nil || meta.Filename == "" {
		l.fail("upload", "unreadable answer %s", snippet(answer))
		return
	}
	got, ok := l.do("download", u.HTTP, l.userRequest(u, http.MethodGet, "/files/"+meta.Owner+"/"+meta.Filename, nil), http.StatusOK)
	if ok && string(got) != content {
		l.fail("download", "%s: %d bytes, not the %d uploaded", meta.Filename, len(got), len(content))
	}
	l.do("delete-file", u.HTTP, l.userRequest(u, http.MethodDelete, "/files/"+meta.Filename, nil), http.StatusOK)
}

// memorySeries is the memory of the control plane and of the backends' API tasks, one sample
// per interval, in MiB (the cgroup's usage without its reclaimable page cache).
type memorySeries struct {
	controlPlane []float64
	apis         []float64 // the mean over the backends' API tasks
}

// sample adds one sample of each series.
func (m *memorySeries) sample(t *testing.T, p *platformtest.Platform, names []string) {
	m.controlPlane = append(m.controlPlane, serviceMemory(t, p, platformtest.Stack+"_controlplane"))
	total := 0.0
	for _, name := range names {
		total += serviceMemory(t, p, name+"_api")
	}
	m.apis = append(m.apis, total/float64(len(names)))
}

// serviceMemory is the memory of a service's running containers together, in MiB, from the
// Engine API's container stats.
func serviceMemory(t *testing.T, p *platformtest.Platform, service string) float64 {
	ctx := context.Background()
	list, err := p.Cli.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(
		filters.Arg("label", "com.docker.swarm.service.name="+service), filters.Arg("status", "running"))})
	if err != nil {
		t.Fatalf("containers of %s: %v", service, err)
	}
	total := 0.0
	for _, c := range list {
		r, err := p.Cli.ContainerStatsOneShot(ctx, c.ID)
		if err != nil {
			t.Fatalf("stats of %s: %v", service, err)
		}
		var s container.StatsResponse
		err = json.NewDecoder(r.Body).Decode(&s)
		r.Body.Close()
		if err != nil {
			t.Fatalf("stats of %s: %v", service, err)
		}
		used := s.MemoryStats.Usage
		// cgroup v2 calls the reclaimable cache inactive_file, v1 total_inactive_file.
		for _, k := range []string{"inactive_file", "total_inactive_file"} {
			if v, ok := s.MemoryStats.Stats[k]; ok && v < used {
				used -= v
				break
			}
		}
		total += float64(used) / (1 << 20)
	}
	return total
}

// drift is the mean of the series' last third against its first third's, in percent.
func drift(series []float64) (first, last, percent float64) {
	third := max(1, len(series)/3)
	mean := func(xs []float64) float64 {
		s := 0.0
		for _, x := range xs {
			s += x
		}
		return s / float64(len(xs))
	}
	first, last = mean(series[:third]), mean(series[len(series)-third:])
	if first > 0 {
		percent = 100 * (last - first) / first
	}
	return first, last, percent
}

// soakReport reports the soak's figures and fails the test for every failed request and every
// broadcast a websocket missed.
func soakReport(t *testing.T, loads []*load, mem *memorySeries, elapsed time.Duration) {
	requests, failures, writes, reconnects, broadcasts := 0, 0, 0, 0, 0
	byKind := map[string]int{}
	var failed, missed []string
	for _, l := range loads {
		r, f := l.counts()
		requests += r
		failures += f
		missed = append(missed, l.missing(false)...)
		l.mu.Lock()
		for k, n := range l.sent {
			byKind[k] += n
		}
		writes += len(l.writes)
		failed = append(failed, l.failures...)
		for _, c := range l.clients {
			reconnects += len(c.sessions) - 1
			for _, s := range c.sessions {
				broadcasts += len(s.got)
			}
		}
		l.mu.Unlock()
	}
	series := func(title string, xs []float64) string {
		var parts []string
		for _, x := range xs {
			parts = append(parts, fmt.Sprintf("%.1f", x))
		}
		first, last, percent := drift(xs)
		return fmt.Sprintf("%s MiB: first third %.1f, last third %.1f (%+.1f%%); every %s: %s",
			title, first, last, percent, soakSampleEvery, strings.Join(parts, " "))
	}
	platformtest.Report(t, fmt.Sprintf("soak (%d backends through Traefik over HTTPS)", len(loads)),
		fmt.Sprintf("%s: %d requests (%.1f/s), %d errors, %d broadcasts missed", elapsed.Round(time.Second), requests,
			float64(requests)/elapsed.Seconds(), failures, len(missed)),
		fmt.Sprintf("by kind: %v", byKind),
		fmt.Sprintf("writes %d; websockets: %d broadcasts received, %d reconnects", writes, broadcasts, reconnects),
		series("control plane", mem.controlPlane),
		series("api task (mean of the backends')", mem.apis),
	)
	if failures > 0 {
		t.Errorf("%d of %d requests failed; the first %d:\n%s", failures, requests, min(len(failed), 50), strings.Join(failed[:min(len(failed), 50)], "\n"))
	}
	if len(missed) > 0 {
		t.Errorf("websocket clients missed broadcasts:\n%s", strings.Join(missed, "\n"))
	}
}
