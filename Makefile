# The two commands a newcomer needs are `make dev` and `make test`; the rest serve them.
GO         ?= go
DATA_DIR   ?= ./data
STATICCHECK = honnef.co/go/tools/cmd/staticcheck@v0.8.2
# TSC_CHECK type-checks a usage example against the SDK's declarations (TypeScript via npx,
# cached outside the repository; nothing is added to it).
TSC_CHECK   = npx --yes -p typescript@5 tsc --noEmit --strict --target es2022 --module es2022 \
              --moduleResolution bundler --lib es2022,dom web/sdk/example.ts

.PHONY: dev test test-env test-cluster bench chaos lint build fuzz

## dev: run Backpack with the embedded default (no Docker, no database server): the control
## plane on SQLite, backends in-process, all under DATA_DIR
dev:
	$(GO) run ./cmd/backpack dev --data-dir $(DATA_DIR)

## test: install what tests need (scripts/test-env.sh), then vet and run every test:
## Go (integration tests against real servers; the API's suites once on each engine, sqlite
## and mongo on the FerretDB stand-in, the SDK and the admin panel in headless Chromium, then both
## again in Chromium against the HTTPS platform on the swarm) and the SDK's unit tests under Node,
## and the SDK's declarations type-checked. The browser tests (./web/..., ./deploy/browser/) run
## after the Swarm tests, not beside them: Chromium aborts requests in flight
## (ERR_NETWORK_CHANGED) whenever Docker adds or removes a network interface.
test: test-env
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 30m $$($(GO) list ./... | grep -v -e /web/ -e /deploy/browser)
	BACKPACK_TEST_ENGINE=mongo $(GO) test -count=1 -timeout 20m ./core/ ./coreapi/
	$(GO) test -count=1 -timeout 20m ./web/...
	$(GO) test -count=1 -timeout 20m ./deploy/browser/
	$(CLUSTER_TEST)
	node --test web/sdk/
	$(TSC_CHECK)

test-env:
	bash scripts/test-env.sh

## test-cluster: the multi-node tests alone (also the last Go step of make test), built with
## -tags cluster: a second Docker engine on this machine, in the network namespace
## scripts/cluster-net.sh makes, joins the swarm as a worker; backends are placed on both
## nodes, the worker is lost under load and returns, a backend is purged while its node is down.
## One package at a time: both add and remove the same worker.
CLUSTER_TEST = $(GO) test -tags cluster -count=1 -p 1 -v -timeout 30m \
               -run '^(TestWorkerJoinsAndReturns|TestPlatformOnTwoNodes)$$' ./internal/swarmtest/ ./deploy/
test-cluster: test-env
	$(CLUSTER_TEST)

## bench: Go micro-benchmarks, a load run against real servers (backpack-api and PocketBase v0.34.2
## side by side, each its own process, against issue 14's targets; backup and restore of 100,000
## documents and 200 MiB of files, and the API's latency during a backup; PocketBase built first by
## scripts/build-gotool.sh outside the repository), the admin panel in headless Chromium (page
## load, live updates), then the platform on the local swarm (create → running, delete, listing
## with 20 live backends), its edge (Traefik over HTTPS vs straight to the API, websocket
## fan-out to 1,000 clients, create → first HTTPS request) and requests/s through Traefik with
## 1, 2 and 3 API replicas of one backend, and a release of a new API image across 10 backends
## under reads (duration, failed requests); figures, no assertions.
## BENCH_FLAGS go to `go run ./bench`, e.g.
## make bench BENCH_FLAGS='-scenarios peer -peer-duration 10s'
bench: test-env
	$(GO) test -run '^$$' -bench . -benchmem ./tools/... ./coreapi/...
	bash scripts/build-gotool.sh pocketbase >/dev/null
	$(GO) run ./bench $(BENCH_FLAGS)
	$(GO) test -run '^$$' -bench BenchmarkPanel -benchtime 1x ./web/admin/
	$(GO) test -run '^$$' -bench BenchmarkPlatform -benchtime 1x -timeout 30m ./deploy/
	$(GO) test -run '^$$' -bench BenchmarkEdge -benchtime 1x -timeout 30m ./deploy/
	$(GO) test -run '^$$' -bench BenchmarkReplicas -benchtime 1x -timeout 30m ./deploy/
	$(GO) test -run '^$$' -bench BenchmarkFleetUpgrade -benchtime 1x -timeout 40m ./deploy/

## chaos: the platform on the local swarm under faults, too long for `make test`: every TestChaos*
## test of CHAOS_PKGS (built with -tags chaos), one platform each: crash trials (the control plane
## killed with SIGKILL during creates, updates, API-key rotations and deletes, CHAOS_TRIALS of
## them, at moments drawn from CHAOS_SEED, a new one printed if empty) and a soak (SOAK_DURATION
## of mixed traffic on five backends through Traefik, memory sampled every 30 s). Each scenario
## appends its own block of figures to CHAOS_REPORT (platformtest.Report), printed at the end,
## also when a scenario failed.
CHAOS_PKGS    ?= ./deploy/
CHAOS_TRIALS  ?= 20
CHAOS_SEED    ?=
SOAK_DURATION ?= 10m
CHAOS_REPORT  ?= /tmp/backpack-chaos-report.txt
chaos: test-env
	@rm -f $(CHAOS_REPORT)
	BACKPACK_CHAOS_TRIALS=$(CHAOS_TRIALS) BACKPACK_CHAOS_SEED=$(CHAOS_SEED) \
	BACKPACK_SOAK_DURATION=$(SOAK_DURATION) BACKPACK_REPORT=$(CHAOS_REPORT) \
	$(GO) test -tags chaos -count=1 -v -timeout 120m -run '^TestChaos' $(CHAOS_PKGS); status=$$?; \
	echo; echo "chaos report ($(CHAOS_REPORT)):"; cat $(CHAOS_REPORT) 2>/dev/null; exit $$status

## lint: formatting, vet, staticcheck, and the SDK's types checked with tsc (fetched by npx)
lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet -tags chaos,cluster ./...
	$(GO) run $(STATICCHECK) -tags chaos,cluster ./...
	$(TSC_CHECK)

## build: static binaries in ./bin
build:
	CGO_ENABLED=0 $(GO) build -o bin/ ./cmd/...

## fuzz: run each fuzz target for FUZZTIME (default 30s)
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./tools/filter/
	$(GO) test -run '^$$' -fuzz '^FuzzParseSort$$' -fuzztime $(FUZZTIME) ./tools/filter/
	$(GO) test -run '^$$' -fuzz '^FuzzFilter$$' -fuzztime $(FUZZTIME) ./tools/docstore/sqlitestore/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeObject$$' -fuzztime $(FUZZTIME) ./tools/jsondoc/
	$(GO) test -run '^$$' -fuzz '^FuzzFilename$$' -fuzztime $(FUZZTIME) ./tools/names/
	$(GO) test -run '^$$' -fuzz '^FuzzBackend$$' -fuzztime $(FUZZTIME) ./tools/names/
	$(GO) test -run '^$$' -fuzz '^FuzzCollection$$' -fuzztime $(FUZZTIME) ./tools/names/
	$(GO) test -run '^$$' -fuzz '^FuzzWSMessage$$' -fuzztime $(FUZZTIME) ./coreapi/
	$(GO) test -run '^$$' -fuzz '^FuzzIndexRequest$$' -fuzztime $(FUZZTIME) ./core/
	$(GO) test -run '^$$' -fuzz '^FuzzBackupLines$$' -fuzztime $(FUZZTIME) ./core/
	$(GO) test -run '^$$' -fuzz '^FuzzInstall$$' -fuzztime $(FUZZTIME) ./tools/siterelease/
	$(GO) test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(FUZZTIME) ./tools/backuparchive/
	$(GO) test -run '^$$' -fuzz '^FuzzBackendLabel$$' -fuzztime $(FUZZTIME) ./controlplane/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeSJSON$$' -fuzztime $(FUZZTIME) ./tools/docstore/ferretimport/
	$(GO) test -run '^$$' -fuzz '^FuzzAnswer$$' -fuzztime $(FUZZTIME) ./functions/
	$(GO) test -run '^$$' -fuzz '^FuzzCheck$$' -fuzztime $(FUZZTIME) ./tools/jsfunc/
