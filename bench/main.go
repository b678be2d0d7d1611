// Command bench (`go run ./bench`, run by `make bench`) is a load benchmark of the backend
// API, printed for humans. It starts everything it needs (a throw-away redis-server, FerretDB
// in-process, the API on a loopback port), seeds a collection, runs each scenario with concurrent keep-alive clients for a fixed
// time, prints throughput and latency percentiles, and removes everything it started. It lives
// outside cmd/ so that `make build`, which builds what is shipped, leaves it out.
//
// The fanout scenarios measure websocket broadcasts instead: many clients joined to one
// channel, on one API replica or spread over two sharing the database and Redis, and one
// writer posting channel messages at a steady rate; each delivery's latency is measured from
// just before the post to its arrival at a client.
//
// The functions scenario measures backend functions on the same API: GET /fn/NAME of a
// trivial onRequest against GET of a document, a create with a beforeCreate hook against one
// without, each with -clients for -duration, and the time from a deploy's PUT until both of
// two replicas answer the new version (10 deploys).
//
// The backup scenario fills a backend of its own (-backup-docs documents, -backup-users users,
// -backup-files files, a site) and measures GET /admin/backup streamed to a file and verified, the
// API's latency for -backup-clients readers and writers during a backup against without one,
// and POST /admin/restore of the archive on a second, empty backend.
//
//	go run ./bench -scenarios backup [-backup-docs 100000] [-backup-files 150x1MiB,5x10MiB] [-backup-clients 2]
//
// The controlplane scenario builds cmd/backpack and measures a real `backpack dev` process
// instead (it needs none of the servers above): how long a new backend takes from its create
// request to its first successful API answer, the idle process's resident memory with 0, 10
// and 50 backends running, and the backend listing's latency and throughput with 200 backends.
//
//	go run ./bench [-clients 50] [-duration 10s] [-seed 10000] [-scenarios create,list-20-of-10k]
//	go run ./bench -scenarios fanout,fanout-2-replicas [-ws-clients 1000] [-fanout-rate 50]
//	go run ./bench -scenarios functions [-clients 50] [-duration 3s]
//
// The peer scenario measures issue 14's targets: Backpack's backend API and PocketBase v0.34.2
// side by side, each server a process of its own (PocketBase built by
// scripts/build-gotool.sh pocketbase, which `make bench` runs first; backpack-api and the FerretDB
// stand-in built from this tree), one after the other with the same GOMAXPROCS, clients,
// duration and number of records seeded over each API: create; get by id; a page of 20 sorted
// on a numeric field, without an index (the same page again and again, then a different page
// each time, below a random bound, which no cache of pages can answer) and then with an index
// on it. Backpack runs twice: --embedded (the sqlite engine), and on the mongo engine against
// the FerretDB stand-in (not mongo:7). It prints each server's throughput, p50 and p99, peak
// resident memory (VmHWM of the server's process, and of the stand-in's for the mongo line),
// the ratios Backpack/PocketBase, the targets and whether they are met, the engine each
// backpack-api names in /readyz, and the local runtime's idle memory per backend (`backpack
// dev` with -peer-backends backends).
//
//	go run ./bench -scenarios peer [-pocketbase PATH] [-seed 10000] [-peer-duration 5s] [-peer-gomaxprocs N] [-peer-backends 20] [-backpack-api PATH]
//	go run ./bench -scenarios controlplane [-cp-create 20] [-cp-memory 0,10,50] [-cp-list-backends 200]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/backpackhq/backpack/tools/docstore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if err != nil && ctx.Err() != nil {
		err = errors.New("interrupted")
	}
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "backpack-bench:", err)
		os.Exit(1)
	}
}

// settings are the command line.
type settings struct {
	clients    int
	duration   time.Duration
	seed       int
	scenarios  []string
	wsClients  int
	fanoutRate float64
	// cpCreate, cpMemory and cpListBackends size the controlplane scenario (see
	// controlPlaneConfig).
	cpCreate       int
	cpMemory       []int
	cpListBackends int
	// pocketBase is the PocketBase binary the peer scenario runs; peerDuration,
	// peerGOMAXPROCS and peerBackends size the peer scenario (see peerConfig).
	pocketBase     string
	backpackAPI    string
	peerDuration   time.Duration
	peerGOMAXPROCS int
	peerBackends   int
	// backupEngine, backupDocs, backupUsers, backupFiles, backupSiteFiles and backupClients
	// choose the backup scenario's engine and size it (see backupConfig).
	backupEngine    string
	backupDocs      int
	backupUsers     int
	backupFiles     []fileBatch
	backupSiteFiles int
	backupClients   int
}

func parseSettings(args []string, stderr io.Writer) (settings, error) {
	var o settings
	var list, memory, backupFiles string
	fs := flag.NewFlagSet("backpack-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.clients, "clients", 50, "concurrent clients per scenario")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long each scenario runs")
	fs.IntVar(&o.seed, "seed", 10000, "documents seeded into the items collection that "+scenarioList+" pages through")
	fs.StringVar(&list, "scenarios", strings.Join(allScenarios, ","), "comma-separated scenarios to run")
	fs.IntVar(&o.wsClients, "ws-clients", 1000, "websocket clients joined to the channel in the fanout scenarios")
	fs.Float64Var(&o.fanoutRate, "fanout-rate", 50, "channel messages written per second in the fanout scenarios")
	fs.IntVar(&o.cpCreate, "cp-create", 20, "backends timed from create to first API answer in the "+scenarioControlPlane+" scenario")
	fs.StringVar(&memory, "cp-memory", "0,10,50", "comma-separated numbers of running backends at which "+scenarioControlPlane+" reads the idle process's memory")
	fs.IntVar(&o.cpListBackends, "cp-list-backends", 200, "backends existing while "+scenarioControlPlane+" measures GET /api/backends")
	fs.StringVar(&o.backpackAPI, "backpack-api", "", "backpack-api binary for the "+scenarioPeer+" scenario (default: built from this tree)")
	fs.StringVar(&o.pocketBase, "pocketbase", defaultPocketBase(), "PocketBase binary for the "+scenarioPeer+" scenario (default $"+pocketBaseEnv+", else where scripts/build-gotool.sh pocketbase caches it)")
	fs.DurationVar(&o.peerDuration, "peer-duration", 5*time.Second, "how long each workload of the "+scenarioPeer+" scenario runs on each server")
	fs.IntVar(&o.peerGOMAXPROCS, "peer-gomaxprocs", runtime.NumCPU(), "GOMAXPROCS of every server the "+scenarioPeer+" scenario measures")
	fs.IntVar(&o.peerBackends, "peer-backends", 20, "backends the "+scenarioPeer+" scenario runs in `backpack dev` to measure idle memory per backend; 0 skips it")
	fs.StringVar(&o.backupEngine, "backup-engine", docstore.EngineSQLite, "document store engine of the "+scenarioBackup+" scenario's backends: sqlite, or mongo (FerretDB in-process, where each page of 1,000 documents a backup reads takes seconds in a collection of 33,000, and one hit the store's 10 s call deadline with -backup-docs 100000)")
	fs.IntVar(&o.backupDocs, "backup-docs", 100_000, "documents (~1 KB, mixed types) the "+scenarioBackup+" scenario backs up, spread over a few collections")
	fs.IntVar(&o.backupUsers, "backup-users", 20, "users the "+scenarioBackup+" scenario registers besides the one it signs in as")
	fs.StringVar(&backupFiles, "backup-files", "150x1MiB,5x10MiB", "files the "+scenarioBackup+" scenario uploads: comma-separated COUNTxSIZE, SIZE in bytes, KiB or MiB")
	fs.IntVar(&o.backupSiteFiles, "backup-site-files", 10, "files of the site the "+scenarioBackup+" scenario publishes; 0 publishes none")
	fs.IntVar(&o.backupClients, "backup-clients", 2, "readers, and as many writers, the "+scenarioBackup+" scenario runs against the API during a backup")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	for name := range strings.SplitSeq(list, ",") {
		name = strings.TrimSpace(name)
		if !slices.Contains(allScenarios, name) {
			return o, fmt.Errorf("unknown scenario %q (known: %s)", name, strings.Join(allScenarios, ", "))
		}
		o.scenarios = append(o.scenarios, name)
	}
	for n := range strings.SplitSeq(memory, ",") {
		if n = strings.TrimSpace(n); n == "" {
			continue
		}
		v, err := strconv.Atoi(n)
		if err != nil || v < 0 || (len(o.cpMemory) > 0 && v <= o.cpMemory[len(o.cpMemory)-1]) {
			return o, fmt.Errorf("-cp-memory must list increasing numbers of backends, not %q", memory)
		}
		o.cpMemory = append(o.cpMemory, v)
	}
	files, err := parseFileBatches(backupFiles)
	if err != nil {
		return o, err
	}
	o.backupFiles = files
	switch {
	case o.clients < 1:
		return o, errors.New("-clients must be at least 1")
	case o.duration <= 0 || o.peerDuration <= 0:
		return o, errors.New("-duration and -peer-duration must be positive")
	case o.peerGOMAXPROCS < 1:
		return o, errors.New("-peer-gomaxprocs must be at least 1")
	case o.peerBackends < 0:
		return o, errors.New("-peer-backends must not be negative")
	case o.seed < 0:
		return o, errors.New("-seed must not be negative")
	case o.wsClients < 1:
		return o, errors.New("-ws-clients must be at least 1")
	case !(o.fanoutRate > 0):
		return o, errors.New("-fanout-rate must be positive")
	case o.backupEngine != docstore.EngineSQLite && o.backupEngine != docstore.EngineMongo:
		return o, fmt.Errorf("-backup-engine must be %s or %s", docstore.EngineSQLite, docstore.EngineMongo)
	case o.backupDocs < 3 || o.backupUsers < 0 || o.backupSiteFiles < 0 || o.backupClients < 1:
		return o, errors.New("-backup-docs must be at least 3 (the load reads the first collection), -backup-users and -backup-site-files not negative, -backup-clients at least 1")
	case o.cpCreate < 0 || o.cpListBackends < 0:
		return o, errors.New("-cp-create and -cp-list-backends must not be negative")
	case o.seed < listLimit && (slices.Contains(o.scenarios, scenarioList) || slices.Contains(o.scenarios, scenarioListSkip) || slices.Contains(o.scenarios, scenarioPeer)):
		return o, fmt.Errorf("-seed must be at least %d for %s", listLimit, scenarioList)
	}
	return o, nil
}

// run starts the servers, prepares the data, runs the chosen scenarios and prints the report
// to stdout; progress goes to stderr. Everything it started is stopped before it returns.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseSettings(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}

	// The controlplane and peer scenarios run their own processes; the others need the servers.
	var (
		env *environment
		api *apiClient
	)
	if slices.ContainsFunc(o.scenarios, func(name string) bool { return name != scenarioControlPlane && name != scenarioPeer }) {
		fmt.Fprintln(stderr, "starting redis-server, FerretDB and the API…")
		env, err = startEnvironment(ctx)
		if err != nil {
			return err
		}
		defer env.close()

		api = newAPIClient(env.baseURL, env.apiKey, o.clients)
		fmt.Fprintf(stderr, "signing in and seeding %d documents…\n", o.seed)
		owner, err := api.signIn(ctx)
		if err != nil {
			return err
		}
		if err := prepareData(ctx, api, env.db, owner, o.seed); err != nil {
			return err
		}
		if slices.ContainsFunc(o.scenarios, func(name string) bool { return fanoutReplicas(name) > 0 }) {
			if err := prepareFanout(ctx, api); err != nil {
				return err
			}
		}
	}

	var (
		loadNames, fanoutNames []string
		loadResults            []summary
		fanoutResults          []fanoutSummary
		controlPlane           *controlPlaneSummary
		peer                   *peerSummary
		functions              *functionsSummary
		backup                 *backupSummary
	)
	for _, name := range o.scenarios {
		if name == scenarioControlPlane {
			cfg := defaultControlPlaneConfig(stderr)
			cfg.createSamples, cfg.memorySteps, cfg.listBackends = o.cpCreate, o.cpMemory, o.cpListBackends
			fmt.Fprintf(stderr, "running %s: %d timed creations, memory at %v backends, GET /api/backends with %d…\n",
				name, cfg.createSamples, cfg.memorySteps, cfg.listBackends)
			r := runControlPlane(ctx, cfg)
			controlPlane = &r
		} else if name == scenarioPeer {
			fmt.Fprintf(stderr, "running %s: Backpack --embedded, Backpack on the mongo engine, PocketBase %s, %d clients for %s per workload, GOMAXPROCS=%d…\n",
				name, pocketBaseVersion, o.clients, o.peerDuration, o.peerGOMAXPROCS)
			r := runPeer(ctx, peerConfig{pocketBase: o.pocketBase, backpackAPI: o.backpackAPI, clients: o.clients, duration: o.peerDuration, seed: o.seed,
				gomaxprocs: o.peerGOMAXPROCS, idleBackends: o.peerBackends, idle: 5 * time.Second, progress: stderr})
			peer = &r
		} else if name == scenarioFunctions {
			urls, err := env.replicaURLs(ctx, deployReplicas)
			if err != nil {
				return err
			}
			admin := newAPIClient(env.adminURL, "", 1)
			admin.token = env.apiConfig.AdminToken
			fmt.Fprintf(stderr, "running %s: %d clients for %s per workload, then %d deploys followed on %d replicas…\n",
				name, o.clients, o.duration, deploySamples, deployReplicas)
			r := runFunctions(ctx, functionsConfig{api: api, admin: admin, replicas: urls, clients: o.clients, duration: o.duration})
			functions = &r
		} else if name == scenarioBackup {
			fmt.Fprintf(stderr, "running %s: %d documents, %d users, %s of files…\n", name, o.backupDocs, o.backupUsers+1, megabytes(totalBytes(o.backupFiles)))
			r := runBackup(ctx, backupConfig{env: env, engine: o.backupEngine, docs: o.backupDocs, users: o.backupUsers, files: o.backupFiles,
				siteFiles: o.backupSiteFiles, clients: o.backupClients, progress: stderr})
			backup = &r
		} else if replicas := fanoutReplicas(name); replicas > 0 {
			urls, err := env.replicaURLs(ctx, replicas)
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "running %s: %d websocket clients on %d replica(s), %g messages/s for %s…\n",
				name, o.wsClients, replicas, o.fanoutRate, o.duration)
			r := runFanout(ctx, fanoutConfig{replicas: urls, writer: api, clients: o.wsClients, rate: o.fanoutRate, duration: o.duration})
			if r.failed == nil {
				fmt.Fprintf(stderr, "  %d clients opened and joined in %s\n", o.wsClients, r.setup.Round(time.Millisecond))
			}
			fanoutNames, fanoutResults = append(fanoutNames, name), append(fanoutResults, r)
		} else {
			fmt.Fprintf(stderr, "running %s with %d clients for %s…\n", name, o.clients, o.duration)
			loadNames = append(loadNames, name)
			loadResults = append(loadResults, runLoad(ctx, o.clients, o.duration, newScenario(name, api, o.seed)))
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}

	if env != nil {
		fmt.Fprintf(stdout, "backpack-bench: GOMAXPROCS=%d NumCPU=%d %s · %s · %d documents seeded\n",
			runtime.GOMAXPROCS(0), runtime.NumCPU(), runtime.Version(), env.setup, o.seed)
	} else {
		fmt.Fprintf(stdout, "backpack-bench: GOMAXPROCS=%d NumCPU=%d %s\n", runtime.GOMAXPROCS(0), runtime.NumCPU(), runtime.Version())
	}
	printed := false
	if len(loadNames) > 0 {
		if err := printTable(stdout, loadNames, o.clients, loadResults); err != nil {
			return err
		}
		printed = true
	}
	if len(fanoutNames) > 0 {
		if printed {
			fmt.Fprintln(stdout)
		}
		if err := printFanoutTable(stdout, fanoutNames, fanoutResults); err != nil {
			return err
		}
		printed = true
	}
	if functions != nil {
		if printed {
			fmt.Fprintln(stdout)
		}
		if err := printFunctions(stdout, *functions); err != nil {
			return err
		}
		printed = true
	}
	if backup != nil {
		if printed {
			fmt.Fprintln(stdout)
		}
		if err := printBackup(stdout, *backup); err != nil {
			return err
		}
		printed = true
	}
	if peer != nil {
		if printed {
			fmt.Fprintln(stdout)
		}
		if err := printPeerTable(stdout, *peer); err != nil {
			return err
		}
		printed = true
	}
	if controlPlane != nil {
		if printed {
			fmt.Fprintln(stdout)
		}
		return printControlPlaneTables(stdout, *controlPlane)
	}
	return nil
}

// printTable writes one row per request scenario, then the first error of each scenario that
// had any.
func printTable(w io.Writer, names []string, clients int, results []summary) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tclients\trequests\terrors\treq/s\tp50\tp90\tp99\tmax")
	for i, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.1f\t%s\t%s\t%s\t%s\n", names[i], clients, r.requests, r.errors,
			r.perSecond, millis(r.p50), millis(r.p90), millis(r.p99), millis(r.max))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for i, r := range results {
		if r.firstError != nil {
			fmt.Fprintf(w, "%s: first error: %v\n", names[i], r.firstError)
		}
	}
	return nil
}

// printFanoutTable writes one row per fanout scenario, then what went wrong in any: a setup
// that failed, failed writes, dropped clients. p50, p99 and max are delivery latencies, from
// just before a message was posted to its arrival at a client; the write columns are the
// posts' own latencies, which they include.
func printFanoutTable(w io.Writer, names []string, results []fanoutSummary) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "fanout scenario\treplicas\tws clients\tmsg/s\twritten\texpected\treceived\tdeliveries/s\tp50\tp99\tmax\tdropped\twrite p50\twrite p99")
	for i, r := range results {
		if r.failed != nil {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%g\tsetup failed\n", names[i], r.replicas, r.clients, r.rate)
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%g\t%d\t%d\t%d\t%.0f\t%s\t%s\t%s\t%d\t%s\t%s\n", names[i], r.replicas, r.clients, r.rate,
			r.written, r.expected, r.received, r.perSecond, millis(r.p50), millis(r.p99), millis(r.max), r.dropped,
			millis(r.writeP50), millis(r.writeP99))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for i, r := range results {
		if r.failed != nil {
			fmt.Fprintf(w, "%s: setup failed: %v\n", names[i], r.failed)
		}
		if r.writeErrors > 0 {
			fmt.Fprintf(w, "%s: %d writes failed, first: %v\n", names[i], r.writeErrors, r.firstWriteError)
		}
		if r.dropped > 0 {
			fmt.Fprintf(w, "%s: %d clients closed by the server, first: %v\n", names[i], r.dropped, r.firstDrop)
		}
	}
	return nil
}

func millis(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}
