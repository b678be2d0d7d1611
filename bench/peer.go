package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The peer scenario measures Backpack's backend API and PocketBase side by side: the same
// workloads, load generator, clients, duration and number of records, one server after the
// other on the same machine, each server a process of its own with the same GOMAXPROCS.
// PocketBase is the yardstick issue 14 sets: a single-binary backend on SQLite that an embedded
// Backpack backend should match or beat.
const (
	scenarioPeer = "peer"
	// pocketBaseVersion is the version scripts/build-gotool.sh pocketbase builds.
	pocketBaseVersion = "v0.34.2"
	// pocketBaseEnv names the PocketBase binary when -pocketbase is not given.
	pocketBaseEnv = "BACKPACK_BENCH_POCKETBASE"
)

// The peer scenario's workloads, in the order they run on each server.
const (
	peerCreate      = "create"
	peerGet         = "get by id"
	peerList        = "list 20 sorted by -n, unindexed"
	peerListBelow   = "list 20 sorted by -n, n < random, unindexed"
	peerListIndexed = "list 20 sorted by -n, indexed"
	peerIndexName   = "idx_items_n"
	// peerRequestTimeout bounds one request of the peer scenario: an answer slower than this
	// is an error, and a stuck server cannot keep a workload long past its duration.
	peerRequestTimeout = 10 * time.Second
)

// peerWorkloads are the workloads in the order they run and are printed.
var peerWorkloads = []string{peerCreate, peerGet, peerList, peerListBelow, peerListIndexed}

// defaultPocketBase is where scripts/build-gotool.sh pocketbase caches the binary.
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

// peerSide is what one server measured: a summary per workload (absent when the server cannot
// run it, with the reason in unavailable), its peak resident memory, and what it is.
type peerSide struct {
	// label names the server in the table; about says what it is: binary, version, engine.
	label, about string
	results      map[string]summary
	unavailable  map[string]string
	peakMemory   int64
	// memoryParts says what peakMemory adds up, when it is more than one process.
	memoryParts string
	// failed is set when the server could not be set up or seeded; its figures are then
	// those measured before.
	failed error
}

func newPeerSide(label string) peerSide {
	return peerSide{label: label, results: map[string]summary{}, unavailable: map[string]string{}}
}

// peerSummary is the peer scenario's outcome: Backpack embedded, Backpack on the mongo engine,
// PocketBase, and the local runtime's idle memory per backend.
type peerSummary struct {
	embedded, mongo, pocketBase peerSide
	idle                        idleSummary
	clients                     int
	duration                    time.Duration
	seed                        int
	gomaxprocs, cores           int
	// loadBefore and loadAfter are the machine's load averages (/proc/loadavg) when the run
	// started and ended: other work on the machine skews the figures.
	loadBefore, loadAfter string
	// failed is set when nothing could be measured (the binaries did not build).
	failed error
}

// peerConfig is one peer run.
type peerConfig struct {
	pocketBase string
	// backpackAPI, if set, is the backpack-api binary to measure instead of one built from
	// this tree.
	backpackAPI string
	clients     int
	duration    time.Duration
	seed        int
	// gomaxprocs is every server's GOMAXPROCS.
	gomaxprocs int
	// idleBackends is how many backends the local runtime's idle memory is measured with; 0
	// skips it.
	idleBackends int
	// idle is how long the local runtime is left alone before its memory is read.
	idle     time.Duration
	progress io.Writer
}

// runPeer builds Backpack's commands, then measures Backpack embedded, Backpack on the mongo
// engine against the FerretDB stand-in, PocketBase, and the local runtime's idle memory, one
// after the other. Everything it started is stopped when it returns.
func runPeer(ctx context.Context, cfg peerConfig) (s peerSummary) {
	s = peerSummary{clients: cfg.clients, duration: cfg.duration, seed: cfg.seed, gomaxprocs: cfg.gomaxprocs, cores: runtime.NumCPU(),
		embedded: newPeerSide(labelEmbedded), mongo: newPeerSide(labelMongo), pocketBase: newPeerSide(labelPocketBase)}
	s.loadBefore = loadAverage()
	defer func() { s.loadAfter = loadAverage() }()
	dir, err := os.MkdirTemp("", "backpack-bench-peer-")
	if err != nil {
		s.failed = err
		return s
	}
	defer os.RemoveAll(dir)

	paths := []string{"internal/cmd/mongo-standin", "cmd/backpack"}
	if cfg.backpackAPI == "" {
		paths = append(paths, "cmd/backpack-api")
	}
	fmt.Fprintf(cfg.progress, "  building %s…\n", strings.Join(paths, ", "))
	built, err := goBuild(ctx, dir, paths...)
	if err != nil {
		s.failed = err
		return s
	}
	bins := map[string]string{"cmd/backpack-api": cfg.backpackAPI}
	for i, path := range paths {
		bins[path] = built[i]
	}

	s.embedded = cfg.measureServer(ctx, labelEmbedded, func(ctx context.Context) (*peerServer, error) {
		return startBackpackEmbedded(ctx, cfg, bins["cmd/backpack-api"], dir)
	})
	s.mongo = cfg.measureServer(ctx, labelMongo, func(ctx context.Context) (*peerServer, error) {
		return startBackpackMongo(ctx, cfg, bins["cmd/backpack-api"], bins["internal/cmd/mongo-standin"], dir)
	})
	s.pocketBase = cfg.measureServer(ctx, labelPocketBase, func(ctx context.Context) (*peerServer, error) {
		return startPocketBase(ctx, cfg, dir)
	})
	if cfg.idleBackends > 0 {
		fmt.Fprintf(cfg.progress, "  local runtime: idle memory with %d backends…\n", cfg.idleBackends)
		s.idle = runIdleBackends(ctx, bins["cmd/backpack"], dir, cfg.idleBackends, cfg.idle, cfg.gomaxprocs)
	}
	return s
}

// The servers' labels in the table.
const (
	labelEmbedded   = "Backpack --embedded"
	labelMongo      = "Backpack, mongo engine (FerretDB stand-in, not mongo:7)"
	labelPocketBase = "PocketBase " + pocketBaseVersion
)

// peerServer is one started server, ready for the workloads: how to write, read and list its
// records, and how to index them.
type peerServer struct {
	// about says what runs: binary, version, engine.
	about string
	// client makes every request, with whatever credentials the server wants.
	client *apiClient
	// createPath is where records are created (answered with createStatus and the record,
	// its id in idField); itemsPath lists the seeded records, itemPath reads one.
	createPath   func(collection string) string
	createStatus int
	idField      string
	itemPath     func(id string) string
	listPath     string
	// listBelowPath lists the records whose n is below a bound the same way: every request a
	// different page, which no cache of pages can answer.
	listBelowPath func(bound int) string
	pageLength    func(json.RawMessage) (int, error)
	// createIndex indexes the seeded records' n, or returns an error wrapping
	// errNotAvailable when the server cannot (yet).
	createIndex func(ctx context.Context) error
	// process is the server whose peak memory is compared.
	process *serverProcess
	// database, if set, is the database server's own process, whose peak memory is added to
	// process's: a product whose database runs inside its process is compared with both.
	database *serverProcess
	// close stops what was started for this server.
	close func()
}

// measureServer starts a server, seeds cfg.seed records over its API, runs the workloads on it
// and reads its peak memory, then stops it.
func (c peerConfig) measureServer(ctx context.Context, label string, start func(context.Context) (*peerServer, error)) peerSide {
	side := newPeerSide(label)
	fmt.Fprintf(c.progress, "  %s: starting…\n", label)
	began := time.Now()
	defer func() { fmt.Fprintf(c.progress, "  %s: done in %s\n", label, time.Since(began).Round(time.Second)) }()
	srv, err := start(ctx)
	if err != nil {
		side.failed = err
		return side
	}
	defer srv.close()
	side.about = srv.about

	fmt.Fprintf(c.progress, "  %s: seeding %d records over its API…\n", label, c.seed)
	ids, err := seedRecords(ctx, srv, itemsCollection, c.seed, c.clients)
	if err != nil {
		side.failed = err
		return side
	}
	measure := func(workload string, do step) {
		fmt.Fprintf(c.progress, "  %s: %s…\n", label, workload)
		side.results[workload] = runLoad(ctx, c.clients, c.duration, do)
	}
	measure(peerCreate, func(ctx context.Context, i int) error {
		resp, err := srv.client.do(ctx, http.MethodPost, srv.createPath(benchCollection), fmt.Appendf(nil, `{"title":"hello","n":%d}`, i))
		if err != nil {
			return err
		}
		return expect(resp, srv.createStatus, nil)
	})
	measure(peerGet, readStep(srv.client, func() string { return srv.itemPath(ids[mathrand.IntN(len(ids))]) }, nil))
	list := readStep(srv.client, func() string { return srv.listPath }, srv.pageLength)
	measure(peerList, list)
	measure(peerListBelow, readStep(srv.client, func() string {
		return srv.listBelowPath(listLimit + mathrand.IntN(c.seed-listLimit+1))
	}, srv.pageLength))
	if err := srv.createIndex(ctx); err != nil {
		side.unavailable[peerListIndexed] = err.Error()
	} else {
		measure(peerListIndexed, list)
	}
	if side.peakMemory, err = srv.process.peakMemory(); err != nil {
		side.failed = err
	}
	if srv.database != nil {
		db, err := srv.database.peakMemory()
		if err != nil {
			side.failed = err
		}
		side.memoryParts = fmt.Sprintf("%s %s + %s %s, each process's VmHWM", srv.process.name, mebibytes(side.peakMemory), srv.database.name, mebibytes(db))
		side.peakMemory += db
	}
	return side
}

// seedAttempts is how many times seeding tries to create one record: seeding is preparation,
// not measurement, so a record that failed on a busy machine is tried again.
const seedAttempts = 3

// seedRecords creates n records {title: "item I", n: I} in collection with workers concurrent
// requests and returns their ids. Its requests may take up to requestTimeout.
func seedRecords(ctx context.Context, srv *peerServer, collection string, n, workers int) ([]string, error) {
	seeder := *srv.client
	seeder.http = &http.Client{Transport: srv.client.http.Transport, Timeout: requestTimeout}
	ids := make([]string, n)
	next := make(chan int)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range workers {
		wg.Go(func() {
			for i := range next {
				var (
					id  string
					err error
				)
				for range seedAttempts {
					var rec map[string]any
					err = seeder.call(ctx, http.MethodPost, srv.createPath(collection),
						map[string]any{"title": fmt.Sprintf("item %d", i), "n": i}, srv.createStatus, &rec)
					id, _ = rec[srv.idField].(string)
					if err == nil && id == "" {
						err = fmt.Errorf("created record has no %q", srv.idField)
					}
					if err == nil || ctx.Err() != nil {
						break
					}
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				ids[i] = id
			}
		})
	}
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if firstErr != nil {
		return nil, fmt.Errorf("seed %s: %w", collection, firstErr)
	}
	return ids, nil
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

// newPeerClient is a client of one measured server whose requests time out after
// peerRequestTimeout.
func newPeerClient(baseURL, apiKey string, clients int) *apiClient {
	c := newAPIClient(baseURL, apiKey, clients)
	c.http.Timeout = peerRequestTimeout
	return c
}

// freePorts asks the kernel for n distinct free loopback ports. A server is then told to listen
// on them, which leaves a short window in which another process could take one.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		// Held open until all are chosen, so that the kernel cannot hand out one twice.
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// loopbackAddr is 127.0.0.1:PORT on a free port.
func loopbackAddr() (string, error) {
	ports, err := freePorts(1)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])), nil
}

// closers runs functions in reverse order, once: what a server's start set up, undone.
type closers []func()

func (c *closers) add(f func()) { *c = append(*c, f) }

func (c *closers) run() {
	for i := len(*c) - 1; i >= 0; i-- {
		(*c)[i]()
	}
	*c = nil
}

// startFailed undoes a partial start and returns err.
func startFailed(undo *closers, err error) (*peerServer, error) {
	undo.run()
	return nil, err
}

// loadAverage is the machine's 1, 5 and 15 minute load averages, or "unknown".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if fields := strings.Fields(string(b)); err == nil && len(fields) >= 3 {
		return strings.Join(fields[:3], " ")
	}
	return "unknown"
}
