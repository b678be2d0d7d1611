package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"
)

// The peer scenario measures Backpack's backend API and PocketBase side by side: the same
// workloads, load generator, clients, duration and number of records, one product after the
// other on the same machine. PocketBase is the yardstick issue 14 sets: a single-binary
// backend on SQLite that an embedded Backpack backend should match or beat.
const (
	scenarioPeer = "peer"
	// pocketBaseVersion is the version scripts/build-pocketbase.sh builds.
	pocketBaseVersion = "v0.34.2"
	// pocketBaseEnv names the PocketBase binary when -pocketbase is not given.
	pocketBaseEnv = "BACKPACK_BENCH_POCKETBASE"
)

// The peer scenario's workloads, in the order they run on each product.
const (
	peerCreate        = "create"
	peerGet           = "get by id"
	peerList          = "list 20 sorted by -n, unindexed"
	peerListIndexed   = "list 20 sorted by -n, indexed"
	peerIndexName     = "idx_items_n"
	pocketBaseStartup = 30 * time.Second
)

// defaultPocketBase is where scripts/build-pocketbase.sh caches the binary.
func defaultPocketBase() string {
	if bin := os.Getenv(pocketBaseEnv); bin != "" {
		return bin
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "backpack", "pocketbase-"+pocketBaseVersion, "pocketbase")
}

// peerSide is what one product measured: a summary per workload (absent when the product
// cannot run it, with the reason in unavailable), its peak resident memory and where that was
// read.
type peerSide struct {
	results      map[string]summary
	unavailable  map[string]string
	peakMemory   int64
	memorySource string
}

// peerSummary is the peer scenario's outcome; failed is set when a product could not be set
// up, and its side is then empty.
type peerSummary struct {
	backpack, pocketBase peerSide
	failed               error
	engine               string
	clients              int
	duration             time.Duration
	seed                 int
}

// peerConfig is what runPeer needs: the running Backpack environment, its signed-in client,
// the ids of the seeded items, and the PocketBase binary.
type peerConfig struct {
	env        *environment
	api        *apiClient
	itemIDs    []string
	pocketBase string
	clients    int
	duration   time.Duration
	seed       int
	progress   io.Writer
}

// runPeer runs every workload on Backpack, then on PocketBase.
func runPeer(ctx context.Context, cfg peerConfig) peerSummary {
	s := peerSummary{engine: cfg.env.engine, clients: cfg.clients, duration: cfg.duration, seed: cfg.seed}
	s.backpack = runBackpackPeer(ctx, cfg)
	pb, err := runPocketBasePeer(ctx, cfg)
	if err != nil {
		s.failed = fmt.Errorf("PocketBase: %w", err)
	}
	s.pocketBase = pb
	return s
}

func newPeerSide() peerSide {
	return peerSide{results: map[string]summary{}, unavailable: map[string]string{}}
}

func (c peerConfig) measure(ctx context.Context, side *peerSide, product, workload string, do step) {
	fmt.Fprintf(c.progress, "  %s: %s…\n", product, workload)
	side.results[workload] = runLoad(ctx, c.clients, c.duration, do)
}

// runBackpackPeer measures the API already running in this process, as the signed-in user the
// other scenarios use. The indexed list runs only if the admin API creates an index.
func runBackpackPeer(ctx context.Context, cfg peerConfig) peerSide {
	side := newPeerSide()
	api := cfg.api
	cfg.measure(ctx, &side, "Backpack", peerCreate, createStep(api))
	cfg.measure(ctx, &side, "Backpack", peerGet, readStep(api, func() string {
		return "/" + itemsCollection + "/" + cfg.itemIDs[mathrand.IntN(len(cfg.itemIDs))]
	}, nil))
	sorted := func() string { return fmt.Sprintf("/%s?limit=%d&sort=-n", itemsCollection, listLimit) }
	cfg.measure(ctx, &side, "Backpack", peerList, readStep(api, sorted, arrayLength))
	if err := cfg.env.createIndex(itemsCollection, "-n"); err != nil {
		side.unavailable[peerListIndexed] = err.Error()
	} else {
		cfg.measure(ctx, &side, "Backpack", peerListIndexed, readStep(api, sorted, arrayLength))
	}
	side.peakMemory, _ = processMemory("self", "VmHWM")
	side.memorySource = "VmHWM of the bench process: API, FerretDB and the load generator"
	return side
}

// createIndex asks the first API replica's admin handler for an index on fields, the way the
// contract (section 5) defines it, and says why when it cannot.
func (e *environment) createIndex(collection string, fields ...string) error {
	body, err := json.Marshal(map[string]any{"fields": fields, "unique": false})
	if err != nil {
		return err
	}
	path := "/admin/collections/" + collection + "/indexes"
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.apiConfig.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	e.admin.ServeHTTP(rec, req)
	if rec.Code != http.StatusCreated {
		return fmt.Errorf("not available: POST %s answers %d (no index support in the API yet)", path, rec.Code)
	}
	return nil
}

// runPocketBasePeer starts PocketBase, prepares the same collections and records over its API
// and measures the workloads with anonymous requests, its API rules being open to anyone.
func runPocketBasePeer(ctx context.Context, cfg peerConfig) (peerSide, error) {
	side := newPeerSide()
	pb, err := startPocketBase(ctx, cfg.pocketBase)
	if err != nil {
		return side, err
	}
	defer pb.close()

	admin := newAPIClient(pb.baseURL, "", cfg.clients)
	if err := pb.signIn(ctx, admin); err != nil {
		return side, err
	}
	for _, name := range []string{benchCollection, itemsCollection} {
		if err := createPocketBaseCollection(ctx, admin, name); err != nil {
			return side, err
		}
	}
	anyone := newAPIClient(pb.baseURL, "", cfg.clients)
	fmt.Fprintf(cfg.progress, "  PocketBase: seeding %d records over its API…\n", cfg.seed)
	ids, err := seedPocketBase(ctx, anyone, cfg.seed, cfg.clients)
	if err != nil {
		return side, err
	}

	records := func(collection string) string { return "/api/collections/" + collection + "/records" }
	cfg.measure(ctx, &side, "PocketBase", peerCreate, func(ctx context.Context, i int) error {
		resp, err := anyone.do(ctx, http.MethodPost, records(benchCollection), fmt.Appendf(nil, `{"title":"hello","n":%d}`, i))
		if err != nil {
			return err
		}
		return expect(resp, http.StatusOK, nil)
	})
	cfg.measure(ctx, &side, "PocketBase", peerGet, readStep(anyone, func() string {
		return records(itemsCollection) + "/" + ids[mathrand.IntN(len(ids))]
	}, nil))
	// skipTotal: PocketBase otherwise counts the whole collection for every page, which
	// Backpack does only when asked (?count=true).
	sorted := func() string {
		return fmt.Sprintf("%s?perPage=%d&sort=-n&skipTotal=1", records(itemsCollection), listLimit)
	}
	cfg.measure(ctx, &side, "PocketBase", peerList, readStep(anyone, sorted, itemsLength))
	index := fmt.Sprintf("CREATE INDEX `%s` ON `%s` (`n`)", peerIndexName, itemsCollection)
	if err := admin.call(ctx, http.MethodPatch, "/api/collections/"+itemsCollection,
		map[string]any{"indexes": []string{index}}, http.StatusOK, nil); err != nil {
		side.unavailable[peerListIndexed] = err.Error()
	} else {
		cfg.measure(ctx, &side, "PocketBase", peerListIndexed, readStep(anyone, sorted, itemsLength))
	}
	side.peakMemory, err = processMemory(strconv.Itoa(pb.cmd.Process.Pid), "VmHWM")
	side.memorySource = "VmHWM of the PocketBase process"
	return side, err
}

// readStep GETs the path path returns and expects 200 and, if length is not nil, a full page
// of listLimit documents, counted by length.
func readStep(c *apiClient, path func() string, length func(json.RawMessage) (int, error)) step {
	return func(ctx context.Context, _ int) error {
		resp, err := c.do(ctx, http.MethodGet, path(), nil)
		if err != nil {
			return err
		}
		var body json.RawMessage
		if err := expect(resp, http.StatusOK, &body); err != nil || length == nil {
			return err
		}
		n, err := length(body)
		if err != nil {
			return err
		}
		if n != listLimit {
			return fmt.Errorf("%d documents, want %d", n, listLimit)
		}
		return nil
	}
}

// arrayLength counts Backpack's page, a JSON array.
func arrayLength(body json.RawMessage) (int, error) {
	var page []json.RawMessage
	err := json.Unmarshal(body, &page)
	return len(page), err
}

// itemsLength counts PocketBase's page, {"items": […], …}.
func itemsLength(body json.RawMessage) (int, error) {
	var page struct {
		Items []json.RawMessage `json:"items"`
	}
	err := json.Unmarshal(body, &page)
	return len(page.Items), err
}

// pocketBase is a PocketBase process serving a throw-away data directory on a loopback port.
type pocketBase struct {
	cmd      *exec.Cmd
	dir      string
	baseURL  string
	email    string
	password string
	exited   chan struct{}
}

// startPocketBase creates a superuser in a new data directory, then serves it, and returns
// once PocketBase answers its health check. On failure nothing is left running.
func startPocketBase(ctx context.Context, bin string) (*pocketBase, error) {
	if bin == "" {
		return nil, errors.New("no PocketBase binary: run scripts/build-pocketbase.sh or set -pocketbase")
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%w: run scripts/build-pocketbase.sh or set -pocketbase", err)
	}
	dir, err := os.MkdirTemp("", "backpack-bench-pocketbase-")
	if err != nil {
		return nil, err
	}
	pb := &pocketBase{dir: dir, email: "bench@example.com", password: rand.Text(), exited: make(chan struct{})}
	// PocketBase puts its hooks and migrations directories beside the data directory: both
	// stay inside dir.
	data := filepath.Join(dir, "pb_data")
	if out, err := exec.CommandContext(ctx, bin, "superuser", "upsert", pb.email, pb.password, "--dir", data).CombinedOutput(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("pocketbase superuser upsert: %w: %s", err, bytes.TrimSpace(out))
	}
	port, err := freePort()
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	pb.baseURL = "http://" + addr
	logFile, err := os.Create(filepath.Join(dir, "pocketbase.log"))
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	defer logFile.Close()
	pb.cmd = exec.Command(bin, "serve", "--http", addr, "--dir", data)
	pb.cmd.Stdout, pb.cmd.Stderr = logFile, logFile
	if err := pb.cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("start PocketBase: %w", err)
	}
	go func() {
		_ = pb.cmd.Wait()
		close(pb.exited)
	}()
	if err := pb.waitHealthy(ctx); err != nil {
		pb.close()
		return nil, err
	}
	return pb, nil
}

// waitHealthy polls /api/health until it answers 200, PocketBase exits or the startup
// deadline passes.
func (pb *pocketBase) waitHealthy(ctx context.Context) error {
	deadline := time.Now().Add(pocketBaseStartup)
	client := &http.Client{Timeout: time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, pb.baseURL+"/api/health", nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-pb.exited:
			return fmt.Errorf("PocketBase exited at startup: %s", pb.logTail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("PocketBase not healthy after %s: %s", pocketBaseStartup, pb.logTail())
		}
	}
}

// logTail is the end of PocketBase's output, for error messages.
func (pb *pocketBase) logTail() string {
	out, _ := os.ReadFile(filepath.Join(pb.dir, "pocketbase.log"))
	const maxShown = 500
	if len(out) > maxShown {
		out = out[len(out)-maxShown:]
	}
	return string(bytes.TrimSpace(out))
}

// close stops PocketBase (SIGTERM, then SIGKILL after 10 s) and removes its directory.
func (pb *pocketBase) close() {
	_ = pb.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-pb.exited:
	case <-time.After(10 * time.Second):
		_ = pb.cmd.Process.Kill()
		<-pb.exited
	}
	_ = os.RemoveAll(pb.dir)
}

// signIn gives c the superuser's token.
func (pb *pocketBase) signIn(ctx context.Context, c *apiClient) error {
	var auth struct {
		Token string `json:"token"`
	}
	creds := map[string]string{"identity": pb.email, "password": pb.password}
	if err := c.call(ctx, http.MethodPost, "/api/collections/_superusers/auth-with-password", creds, http.StatusOK, &auth); err != nil {
		return err
	}
	c.token = auth.Token
	return nil
}

// createPocketBaseCollection creates a base collection with the fields Backpack's scenarios
// write (title, n) and every API rule open to anyone ("").
func createPocketBaseCollection(ctx context.Context, admin *apiClient, name string) error {
	open := ""
	collection := map[string]any{
		"name": name, "type": "base",
		"listRule": &open, "viewRule": &open, "createRule": &open, "updateRule": &open, "deleteRule": &open,
		"fields": []map[string]any{{"name": "title", "type": "text"}, {"name": "n", "type": "number"}},
	}
	return admin.call(ctx, http.MethodPost, "/api/collections", collection, http.StatusOK, nil)
}

// seedPocketBase creates records items, titled and numbered like Backpack's seeded items, with
// workers concurrent requests, and returns their ids.
func seedPocketBase(ctx context.Context, c *apiClient, records, workers int) ([]string, error) {
	ids := make([]string, records)
	next := make(chan int)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range workers {
		wg.Go(func() {
			for i := range next {
				var rec struct {
					ID string `json:"id"`
				}
				err := c.call(ctx, http.MethodPost, "/api/collections/"+itemsCollection+"/records",
					map[string]any{"title": fmt.Sprintf("item %d", i), "n": i}, http.StatusOK, &rec)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				ids[i] = rec.ID
			}
		})
	}
	for i := range records {
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, fmt.Errorf("seed PocketBase: %w", firstErr)
	}
	return ids, nil
}

// freePort asks the kernel for a free loopback port. PocketBase is then told to listen on it,
// which leaves a short window in which another process could take it.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// printPeerTable writes the side-by-side table: per workload each product's throughput, p50
// and p99, and the ratios Backpack/PocketBase (above 1 for throughput and below 1 for latency
// and memory mean Backpack does better).
func printPeerTable(w io.Writer, s peerSummary) error {
	fmt.Fprintf(w, "peer: Backpack's backend API (in-process, engine: %s) vs PocketBase %s (its own process, SQLite),\n", s.engine, pocketBaseVersion)
	fmt.Fprintf(w, "  one after the other, same load generator, %d clients, %s per workload, %d records seeded\n", s.clients, s.duration, s.seed)
	fmt.Fprintln(w, "  auth: Backpack: API key + a signed-in user's bearer token (collections' default rule \"authenticated\");")
	fmt.Fprintln(w, "        PocketBase: none (collections' API rules \"\" = anyone); lists sorted by -n, PocketBase with skipTotal=1")
	fmt.Fprintln(w, "  BP/PB = Backpack/PocketBase: above 1× for req/s, below 1× for latency and memory favour Backpack")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "workload\tBackpack req/s\tp50\tp99\terrors\tPocketBase req/s\tp50\tp99\terrors\tBP/PB req/s\tBP/PB p50\tBP/PB p99")
	for _, workload := range []string{peerCreate, peerGet, peerList, peerListIndexed} {
		b, bok := s.backpack.results[workload]
		p, pok := s.pocketBase.results[workload]
		row := []string{workload}
		row = append(row, peerCells(b, bok)...)
		row = append(row, peerCells(p, pok)...)
		if bok && pok {
			row = append(row, ratio(b.perSecond, p.perSecond), ratio(float64(b.p50), float64(p.p50)), ratio(float64(b.p99), float64(p.p99)))
		} else {
			row = append(row, "-", "-", "-")
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	fmt.Fprintf(tw, "peak resident memory\t%s\t\t\t\t%s\t\t\t\t%s\n", mebibytes(s.backpack.peakMemory), mebibytes(s.pocketBase.peakMemory),
		ratio(float64(s.backpack.peakMemory), float64(s.pocketBase.peakMemory)))
	if err := tw.Flush(); err != nil {
		return err
	}
	if s.backpack.memorySource != "" {
		fmt.Fprintf(w, "Backpack memory: %s\n", s.backpack.memorySource)
	}
	if s.pocketBase.memorySource != "" {
		fmt.Fprintf(w, "PocketBase memory: %s\n", s.pocketBase.memorySource)
	}
	for _, side := range []struct {
		name string
		side peerSide
	}{{"Backpack", s.backpack}, {"PocketBase", s.pocketBase}} {
		for _, workload := range []string{peerCreate, peerGet, peerList, peerListIndexed} {
			if reason, ok := side.side.unavailable[workload]; ok {
				fmt.Fprintf(w, "%s, %s: %s\n", side.name, workload, reason)
			}
			if r, ok := side.side.results[workload]; ok && r.firstError != nil {
				fmt.Fprintf(w, "%s, %s: first error: %v\n", side.name, workload, r.firstError)
			}
		}
	}
	if s.failed != nil {
		fmt.Fprintf(w, "failed: %v\n", s.failed)
	}
	return nil
}

// peerCells are one product's throughput, p50, p99 and errors for a workload, or dashes.
func peerCells(r summary, ok bool) []string {
	if !ok {
		return []string{"n/a", "-", "-", "-"}
	}
	return []string{fmt.Sprintf("%.1f", r.perSecond), millis(r.p50), millis(r.p99), strconv.Itoa(r.errors)}
}

// ratio is a/b as "1.23×", or "-" when either is unknown.
func ratio(a, b float64) string {
	if a <= 0 || b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f×", a/b)
}
