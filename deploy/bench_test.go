package deploy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backpackhq/backpack/internal/platformtest"
	"github.com/backpackhq/backpack/internal/swarmtest"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/gorilla/websocket"
)

// BenchmarkPlatform measures the platform on the local swarm with the images present (make
// bench runs it once, -benchtime 1x): create → running (the median of 5 backends created one
// after another), delete time (with purge, until the backend is gone), and GET /api/backends
// with 20 live backends. Figures are reported as custom metrics; nothing is asserted.
func BenchmarkPlatform(b *testing.B) {
	p := platformtest.Deploy(b, platformtest.Options{})
	for range b.N {
		var creates, deletes []time.Duration
		for i := range 5 {
			name := platformtest.UniqueName(fmt.Sprintf("bench%d", i))
			start := time.Now()
			p.Create(name)
			creates = append(creates, time.Since(start))
			start = time.Now()
			p.MustStatus(http.StatusAccepted, p.Send(http.MethodDelete, "/api/backends/"+name+"?purge=true", nil))
			for {
				if _, status := p.Backend(name); status == http.StatusNotFound {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			deletes = append(deletes, time.Since(start))
		}
		b.ReportMetric(median(creates).Seconds(), "create-to-running-s/median")
		b.ReportMetric(slices.Max(creates).Seconds(), "create-to-running-s/max")
		b.ReportMetric(median(deletes).Seconds(), "delete-purge-s/median")

		for i := range 20 {
			p.Ask(platformtest.UniqueName(fmt.Sprintf("live%d", i)))
		}
		for _, name := range p.Created[len(p.Created)-20:] {
			p.WaitState(name, "running", 10*time.Minute)
		}
		var lists []time.Duration
		for range 200 {
			start := time.Now()
			p.MustStatus(http.StatusOK, p.Send(http.MethodGet, "/api/backends", nil))
			lists = append(lists, time.Since(start))
		}
		slices.Sort(lists)
		b.ReportMetric(float64(median(lists).Microseconds())/1000, "list-20-live-ms/p50")
		b.ReportMetric(float64(lists[len(lists)*99/100].Microseconds())/1000, "list-20-live-ms/p99")
	}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkEdge measures the production edge, Traefik over HTTPS with Pebble's certificates
// (make bench runs it once, -benchtime 1x): the same API workload through Traefik and straight
// to the API container, and the ratio; a broadcast's fan-out to 1,000 websockets through
// Traefik; and how long a new backend takes to answer its first HTTPS request. Figures are
// reported as custom metrics and printed; nothing is asserted.
func BenchmarkEdge(b *testing.B) {
	p := platformtest.Deploy(b, platformtest.Options{Traefik: true, TLS: true})
	for range b.N {
		name := benchCreateToHTTPS(b, p, 5)
		edge, id := benchEndUser(b, p, name)
		direct := directTarget(b, p, name, *edge)
		b.Logf("straight to the API: %s", direct.label)
		benchEdgeWorkload(b, edge, direct, "get", benchRead(id))
		benchEdgeWorkload(b, edge, direct, "post", benchWrite)
		benchFanOut(b, p, edge, name, 1000)
	}
}

// BenchmarkReplicas measures what more API replicas buy (issue 18): the same read and write
// workloads as BenchmarkEdge, through Traefik over HTTPS, with 1, 2 and 3 replicas of one
// backend's API, each scaled with PATCH /api/backends/NAME. Every replica has the template's
// CPU limit (1) and shares the machine with Traefik, the backend's database and the load
// generator, so on a small machine the figures show where that limit lies. Figures are
// reported and printed; nothing is asserted.
func BenchmarkReplicas(b *testing.B) {
	p := platformtest.Deploy(b, platformtest.Options{Traefik: true, TLS: true})
	for range b.N {
		name := platformtest.UniqueName("replicas")
		p.Create(name)
		p.FirstAnswer(p.APIURL(name)+"/healthz", 3*time.Minute)
		edge, id := benchEndUser(b, p, name)
		for n := 1; n <= 3; n++ {
			start := time.Now()
			p.SetAPIReplicas(name, n, 3*time.Minute)
			b.Logf("%d API replicas running %.1fs after the PATCH", n, time.Since(start).Seconds())
			// Past Traefik's poll and health check, so that every replica gets its share.
			time.Sleep(6 * time.Second)
			for _, w := range []struct {
				op   string
				next func(int) (string, string, []byte, int)
			}{{"get", benchRead(id)}, {"post", benchWrite}} {
				r := runWorkload(b, edge, w.op, w.next)
				report(b, r.rps, fmt.Sprintf("%s-%dreplicas-req/s", w.op, n))
				report(b, r.p50.Seconds()*1000, fmt.Sprintf("%s-%dreplicas-ms/p50", w.op, n))
				report(b, r.p99.Seconds()*1000, fmt.Sprintf("%s-%dreplicas-ms/p99", w.op, n))
			}
		}
	}
}

// BenchmarkFleetUpgrade measures a release across 10 backends (issue 18): the time from
// `docker stack deploy` with a new BACKPACK_API_IMAGE until every backend's API runs it alone
// (the control plane rolls first, then re-applies the backends, four at a time, each API
// start-first), while a client per backend reads through Traefik over HTTPS without pause;
// its requests and failures are reported. Nothing is asserted.
func BenchmarkFleetUpgrade(b *testing.B) {
	const backends = 10
	image := relabel(b, swarmtest.APIImage, "backpack-test/api:fleet-bench")
	p := platformtest.Deploy(b, platformtest.Options{Traefik: true, TLS: true})
	for range b.N {
		var names []string
		for i := range backends {
			name := platformtest.UniqueName(fmt.Sprintf("fleet%d", i))
			names = append(names, name)
			p.Ask(name)
		}
		var readers []*benchTarget
		var ids []string
		for _, name := range names {
			p.WaitState(name, "running", 10*time.Minute)
			p.FirstAnswer(p.APIURL(name)+"/healthz", 3*time.Minute)
			edge, id := benchEndUser(b, p, name)
			readers, ids = append(readers, edge), append(ids, id)
		}
		var requests, failures atomic.Int64
		var failed []string // the first failures, said with the figures
		var failedMu sync.Mutex
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for i, r := range readers {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					requests.Add(1)
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					resp, err := r.client.Do(r.request(http.MethodGet, "/items/"+ids[i], nil).WithContext(ctx))
					var body []byte
					if err == nil {
						body, _ = io.ReadAll(io.LimitReader(resp.Body, 300))
						resp.Body.Close()
					}
					cancel()
					if err != nil || resp.StatusCode != http.StatusOK {
						failures.Add(1)
						failedMu.Lock()
						if len(failed) < 10 {
							what := fmt.Sprint(err)
							if err == nil {
								what = fmt.Sprintf("%d %s", resp.StatusCode, body)
							}
							failed = append(failed, fmt.Sprintf("%s %s: %s", time.Now().UTC().Format("15:04:05.000"), names[i], what))
						}
						failedMu.Unlock()
					}
					time.Sleep(20 * time.Millisecond)
				}
			})
		}
		took, _ := release(b, p, names, image, 20*time.Minute)
		close(stop)
		wg.Wait()
		report(b, took.Seconds(), fmt.Sprintf("upgrade-%d-backends-s", backends))
		report(b, float64(requests.Load()), "requests")
		report(b, float64(failures.Load()), "failed-requests")
		for _, f := range failed {
			fmt.Printf("%s failed: %s\n", b.Name(), f)
		}
	}
}

// benchEndUser signs an end user up to the backend, makes a public-read collection, items,
// with one document, and returns the user's way to the API through Traefik and the document's
// id.
func benchEndUser(b *testing.B, p *platformtest.Platform, name string) (*benchTarget, string) {
	key, _ := p.Backend(name)
	u := p.EndUser(name, key.APIKey)
	u.MustStatus(http.StatusCreated, u.Send(http.MethodPost, "/auth/register", map[string]any{"email": "ann@example.com", "password": "password123"}))
	var tok struct {
		Token string `json:"token"`
	}
	u.MustStatus(http.StatusOK, u.Send(http.MethodPost, "/auth/token", map[string]any{"email": "ann@example.com", "password": "password123"})).Decode(&tok)
	p.MustStatus(http.StatusCreated, p.Send(http.MethodPost, "/api/backends/"+name+"/admin/collections", map[string]any{"name": "items", "rule": "public-read"}))
	edge := &benchTarget{label: "traefik", client: p.Client(nil), base: p.APIURL(name), apiKey: key.APIKey, token: tok.Token}
	var doc struct {
		ID string `json:"_id"`
	}
	if err := json.Unmarshal(edge.mustDo(b, http.MethodPost, "/items", []byte(`{"title":"read me"}`), http.StatusCreated), &doc); err != nil {
		b.Fatal(err)
	}
	return edge, doc.ID
}

// benchRead is the representative read: one document by id. benchWrite creates one.
func benchRead(id string) func(int) (string, string, []byte, int) {
	return func(int) (string, string, []byte, int) { return http.MethodGet, "/items/" + id, nil, http.StatusOK }
}

func benchWrite(i int) (string, string, []byte, int) {
	return http.MethodPost, "/items", fmt.Appendf(nil, `{"title":"bench","n":%d}`, i), http.StatusCreated
}

// benchCreateToHTTPS creates n backends one after another and measures, for each, the time
// from the request to create it until its API first answers over verified HTTPS at
// https://NAME-be.DOMAIN (the certificate is issued on the way). It deletes all but the last,
// which it returns.
func benchCreateToHTTPS(b *testing.B, p *platformtest.Platform, n int) string {
	var totals, afterRunning []time.Duration
	var name string
	for i := range n {
		if name != "" {
			p.MustStatus(http.StatusAccepted, p.Send(http.MethodDelete, "/api/backends/"+name+"?purge=true", nil))
			p.WaitGone(name, 3*time.Minute)
		}
		name = platformtest.UniqueName(fmt.Sprintf("edge%d", i))
		start := time.Now()
		p.Create(name)
		running := time.Since(start)
		p.FirstAnswer(p.APIURL(name)+"/healthz", 3*time.Minute)
		totals = append(totals, time.Since(start))
		afterRunning = append(afterRunning, time.Since(start)-running)
	}
	report(b, median(totals).Seconds(), "create-to-https-s/p50")
	report(b, slices.Max(totals).Seconds(), "create-to-https-s/max")
	report(b, median(afterRunning).Seconds(), "running-to-https-s/p50")
	report(b, slices.Max(afterRunning).Seconds(), "running-to-https-s/max")
	return name
}

// report reports a figure as a custom metric and prints it, so that a run's log has them all.
func report(b *testing.B, v float64, unit string) {
	b.ReportMetric(v, unit)
	fmt.Printf("%s %-32s %10.3f\n", b.Name(), unit, v)
}

// benchTarget is one way to a backend's public API with an end user's bearer token (the
// same credentials either way, so the workload is the same): through Traefik or straight to
// the API's task.
type benchTarget struct {
	label  string
	client *http.Client
	// base is the scheme and authority requests go to; host, if set, is their Host header.
	base, host    string
	apiKey, token string
}

func (t *benchTarget) request(method, path string, body []byte) *http.Request {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, t.base+path, r)
	if err != nil {
		panic(err)
	}
	if t.host != "" {
		req.Host = t.host
	}
	req.Header.Set("X-API-Key", t.apiKey)
	req.Header.Set("Authorization", "Bearer "+t.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

func (t *benchTarget) mustDo(b *testing.B, method, path string, body []byte, want int) []byte {
	b.Helper()
	a := platformtest.Do(b, t.client, t.request(method, path, body))
	if a.Status != want {
		b.Fatalf("%s: %s %s: %d %s, want %d", t.label, method, path, a.Status, a.Body, want)
	}
	return a.Body
}

// directTarget is the shortest way from this host to the backend's API task: its address on
// docker_gwbridge (every task on a non-internal overlay network has one, and the API listens
// on all its addresses), plain HTTP/1.1 with keep-alive. If that address does not answer, it
// falls back to the netprobe's CONNECT tunnel on backpack_public, which adds a hop of its own.
func directTarget(b *testing.B, p *platformtest.Platform, name string, edge benchTarget) *benchTarget {
	ctx := context.Background()
	direct := edge
	direct.host = name + "-be." + p.Domain
	list, err := p.Cli.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(
		filters.Arg("label", "com.docker.swarm.service.name="+name+"_api"), filters.Arg("status", "running"))})
	if err != nil || len(list) != 1 {
		b.Fatalf("the api container of %s: %v %v", name, list, err)
	}
	gw, err := p.Cli.NetworkInspect(ctx, "docker_gwbridge", network.InspectOptions{})
	if ep, ok := gw.Containers[list[0].ID]; err == nil && ok {
		addr, _, _ := strings.Cut(ep.IPv4Address, "/")
		tr := &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second}
		b.Cleanup(tr.CloseIdleConnections)
		direct.client = &http.Client{Transport: tr, Timeout: time.Minute}
		direct.base = "http://" + net.JoinHostPort(addr, "3000")
		direct.label = "the task's address on docker_gwbridge, " + direct.base
		req := direct.request(http.MethodGet, "/healthz", nil)
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		if resp, err := direct.client.Do(req.WithContext(ctx)); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return &direct
			}
		}
	}
	direct.client = p.Probe().HTTPClient()
	direct.base = "http://" + name + "_api:3000"
	direct.label = "the netprobe's CONNECT tunnel on backpack_public (one hop more than a direct path)"
	return &direct
}

// Workload of BenchmarkEdge: clients concurrent clients, each sending its next request as soon
// as the last one is answered, for benchDuration.
const (
	benchClients  = 16
	benchDuration = 10 * time.Second
)

// workloadResult is what a workload achieved: requests answered as expected per second, and
// their latency's p50 and p99.
type workloadResult struct {
	rps      float64
	p50, p99 time.Duration
}

// runWorkload sends the workload next makes to t: benchClients clients, each sending its next
// request as soon as the last one is answered, for benchDuration.
func runWorkload(b *testing.B, t *benchTarget, op string, next func(i int) (method, path string, body []byte, want int)) workloadResult {
	var mu sync.Mutex
	var lat []time.Duration
	var count atomic.Int64
	errs := 0
	start := time.Now()
	var wg sync.WaitGroup
	for range benchClients {
		wg.Go(func() {
			for time.Since(start) < benchDuration {
				method, path, body, want := next(int(count.Add(1)))
				sent := time.Now()
				resp, err := t.client.Do(t.request(method, path, body))
				ok := err == nil
				if ok {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					ok = resp.StatusCode == want
				}
				d := time.Since(sent)
				mu.Lock()
				if ok {
					lat = append(lat, d)
				} else {
					errs++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if errs > 0 {
		b.Logf("%s %s: %d requests failed", t.label, op, errs)
	}
	slices.Sort(lat)
	if len(lat) == 0 {
		b.Fatalf("%s %s: no request succeeded", t.label, op)
	}
	return workloadResult{rps: float64(len(lat)) / elapsed.Seconds(), p50: percentile(lat, 0.50), p99: percentile(lat, 0.99)}
}

// benchEdgeWorkload runs the same workload through Traefik and straight to the API, and
// reports each side's requests/s, p50 and p99, and Traefik's share as ratios.
func benchEdgeWorkload(b *testing.B, edge, direct *benchTarget, op string, next func(i int) (method, path string, body []byte, want int)) {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	e, d := runWorkload(b, edge, op, next), runWorkload(b, direct, op, next)
	report(b, e.rps, op+"-traefik-req/s")
	report(b, ms(e.p50), op+"-traefik-ms/p50")
	report(b, ms(e.p99), op+"-traefik-ms/p99")
	report(b, d.rps, op+"-direct-req/s")
	report(b, ms(d.p50), op+"-direct-ms/p50")
	report(b, ms(d.p99), op+"-direct-ms/p99")
	report(b, e.rps/d.rps, op+"-traefik/direct-req/s")
	report(b, ms(e.p50)/ms(d.p50), op+"-traefik/direct-p50")
}

// percentile is the q-quantile of sorted latencies.
func percentile(sorted []time.Duration, q float64) time.Duration {
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*q))]
}

// benchFanOut opens n anonymous wss:// connections to the backend through Traefik, then
// measures how long one write's broadcast takes to reach them all (five writes, one at a
// time: p50 and max of every delivery), and how many broadcasts a second reach all of them
// when writes come back to back.
func benchFanOut(b *testing.B, p *platformtest.Platform, edge *benchTarget, name string, n int) {
	const single, burst = 5, 100
	received := make([][]atomic.Int64, single+burst) // [mark][client] unix nanos of arrival
	for i := range received {
		received[i] = make([]atomic.Int64, n)
	}
	var delivered atomic.Int64
	dialer := p.WebsocketDialer(nil)
	target := "wss://" + name + "-be." + p.Domain + "/ws?" + url.Values{"apiKey": {edge.apiKey}}.Encode()
	conns := make([]*websocket.Conn, n)
	start := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	var dialErr atomic.Value
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, _, err := dialer.Dial(target, nil)
			if err != nil {
				dialErr.Store(err)
				return
			}
			conns[i] = c
		})
	}
	wg.Wait()
	if err := dialErr.Load(); err != nil {
		b.Fatalf("open %d websockets: %v", n, err)
	}
	report(b, time.Since(start).Seconds(), "fanout-open-1000-wss-s")
	var readers sync.WaitGroup
	for i, c := range conns {
		readers.Go(func() {
			for {
				var m struct {
					Action   string `json:"action"`
					Response struct {
						Mark int `json:"mark"`
					} `json:"response"`
				}
				if err := c.ReadJSON(&m); err != nil {
					return
				}
				if m.Action == "create" && m.Response.Mark > 0 && m.Response.Mark <= len(received) {
					received[m.Response.Mark-1][i].Store(time.Now().UnixNano())
					delivered.Add(1)
				}
			}
		})
	}
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
		readers.Wait()
	}()
	waitDelivered := func(want int64) bool {
		deadline := time.Now().Add(time.Minute)
		for delivered.Load() < want && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		return delivered.Load() >= want
	}
	var lat []time.Duration
	for mark := 1; mark <= single; mark++ {
		sent := time.Now()
		edge.mustDo(b, http.MethodPost, "/items", fmt.Appendf(nil, `{"mark":%d}`, mark), http.StatusCreated)
		if !waitDelivered(int64(mark * n)) {
			b.Fatalf("broadcast %d reached %d of %d websockets", mark, delivered.Load()-int64((mark-1)*n), n)
		}
		for i := range n {
			lat = append(lat, time.Duration(received[mark-1][i].Load()-sent.UnixNano()))
		}
	}
	slices.Sort(lat)
	report(b, float64(percentile(lat, 0.5).Microseconds())/1000, "fanout-1000-ms/p50")
	report(b, float64(lat[len(lat)-1].Microseconds())/1000, "fanout-1000-ms/max")

	start = time.Now()
	var writers sync.WaitGroup
	var nextMark atomic.Int64
	nextMark.Store(single)
	for range 4 {
		writers.Go(func() {
			for {
				mark := nextMark.Add(1)
				if mark > single+burst {
					return
				}
				edge.mustDo(b, http.MethodPost, "/items", fmt.Appendf(nil, `{"mark":%d}`, mark), http.StatusCreated)
			}
		})
	}
	writers.Wait()
	if !waitDelivered(int64((single + burst) * n)) {
		b.Fatalf("a burst of %d broadcasts reached %d of %d deliveries", burst, delivered.Load()-int64(single*n), burst*n)
	}
	elapsed := time.Since(start)
	report(b, float64(burst)/elapsed.Seconds(), "fanout-1000-broadcasts/s")
	report(b, float64(burst*n)/elapsed.Seconds(), "fanout-1000-deliveries/s")
}
