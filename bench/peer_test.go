package main

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/backpackhq/backpack/internal/testenv"
)

func TestParseVmHWM(t *testing.T) {
	status := "Name:\tpocketbase\nVmPeak:\t 1300000 kB\nVmHWM:\t   81820 kB\nVmRSS:\t   80000 kB\n"
	got, err := statusField(strings.NewReader(status), "VmHWM")
	if err != nil || got != 81820*1024 {
		t.Errorf("statusField(VmHWM) = %d, %v; want %d", got, err, 81820*1024)
	}
	for _, bad := range []string{"Name:\tx\n", "VmHWM:\t12 MB\n", "VmHWM:\tmany kB\n"} {
		if _, err := statusField(strings.NewReader(bad), "VmHWM"); err == nil {
			t.Errorf("statusField(%q, VmHWM) succeeded, want an error", bad)
		}
	}
}

func TestServerEnv(t *testing.T) {
	environ := []string{"PATH=/usr/bin", "BACKPACK_PORT=1", "GOMAXPROCS=8", "GOGC=off", "GOMEMLIMIT=1GiB",
		"MONGO_URL=mongodb://x", "REDIS_URL=redis://x", "HOME=/root", "GOFLAGS=-buildvcs=false"}
	got := serverEnv(environ, 2)
	want := []string{"PATH=/usr/bin", "HOME=/root", "GOFLAGS=-buildvcs=false", "GOMAXPROCS=2"}
	if !slices.Equal(got, want) {
		t.Errorf("serverEnv() = %q, want %q", got, want)
	}
	if environ[1] != "BACKPACK_PORT=1" {
		t.Errorf("serverEnv changed its argument: %q", environ)
	}
}

func TestEngineNames(t *testing.T) {
	ferret := binaryInfo{deps: map[string]string{ferretDBModule: "v1.24.0"}}
	native := binaryInfo{deps: map[string]string{}}
	tests := []struct {
		ready string
		info  binaryInfo
		want  string
	}{
		// Before the sqlite engine: FerretDB in-process, its check named "mongo".
		{`{"status":"ok","checks":{"mongo":"ok","redis":"ok"}}`, ferret, "FerretDB v1.24.0 in-process on SQLite (the binary links FerretDB; /readyz checks: mongo, redis)"},
		{`{"status":"ok","checks":{"sqlite":"ok","redis":"ok"}}`, ferret, "sqlite (named by /readyz)"},
		{`{"status":"ok","checks":{"sqlite":"ok","redis":"ok"}}`, native, "sqlite (named by /readyz)"},
		{`{"status":"ok","engine":"sqlite","checks":{"db":"ok"}}`, native, "sqlite (named by /readyz)"},
		{`{"status":"ok","checks":{"mongo":"ok","redis":"ok"}}`, native, "mongo (named by /readyz)"},
		{`{"status":"ok","checks":{"redis":"ok","db":"ok"}}`, native, "unknown (/readyz names none, its checks: db, redis)"},
		{`not json`, native, "unknown (/readyz names none, its checks: )"},
	}
	for _, tt := range tests {
		if got := embeddedEngine([]byte(tt.ready), tt.info); got != tt.want {
			t.Errorf("embeddedEngine(%s) = %q, want %q", tt.ready, got, tt.want)
		}
	}
}

func TestPeerTargets(t *testing.T) {
	tests := []struct {
		workload string
		ratio    float64
		want     string
	}{
		{peerCreate, 1.5, "yes"},
		{peerCreate, 1.49, "no"},
		{peerGet, 1, "yes"},
		{peerList, 0.07, "no"},
		{peerListIndexed, 0, "no"},
		{peerMemoryRow, 0.9, "yes"},
		{peerMemoryRow, 1.01, "no"},
	}
	for _, tt := range tests {
		if got := peerTargets[tt.workload].met(tt.ratio); got != tt.want {
			t.Errorf("target of %s met by %g: %q, want %q", tt.workload, tt.ratio, got, tt.want)
		}
	}
	if got := peerTargets[peerCreate].String(); got != "≥ 1.5×" {
		t.Errorf("create target %q", got)
	}
	if got := peerTargets[peerMemoryRow].String(); got != "≤ 1×" {
		t.Errorf("memory target %q", got)
	}
	if got := peerTargets[peerGet].versus(3, 0, true); !slices.Equal(got, []string{"-", "≥ 1×", "-"}) {
		t.Errorf("versus an unmeasured PocketBase: %q", got)
	}
	if got := peerTargets[peerGet].versus(0, 3, true); !slices.Equal(got, []string{"0.00×", "≥ 1×", "no"}) {
		t.Errorf("versus with no expected answer from Backpack: %q", got)
	}
}

func TestIdlePerBackend(t *testing.T) {
	s := idleSummary{backends: 4, before: 100 << 20, after: 112 << 20}
	if !s.measured() || s.perBackend() != 3<<20 {
		t.Errorf("perBackend() = %d, want %d", s.perBackend(), 3<<20)
	}
	if (idleSummary{backends: 4, before: 100 << 20}).measured() {
		t.Error("measured() without the second reading")
	}
}

// targetCell finds a target in a table row: "≥ 1.5×", "≤ 1×", "< 5.0 MiB", after a column gap.
var targetCell = regexp.MustCompile(`  [≥≤<] \d`)

// TestPrintPeerTable prints a made-up run: every row is there with its ratio, target and
// verdict, columns line up, and what could not run says why.
func TestPrintPeerTable(t *testing.T) {
	side := func(label string, perSecond float64, memory int64) peerSide {
		s := newPeerSide(label)
		for _, w := range []string{peerCreate, peerGet, peerList} {
			s.results[w] = summary{requests: 100, okPerSecond: perSecond, p50: time.Millisecond, p99: 9 * time.Millisecond}
		}
		s.peakMemory = memory
		return s
	}
	s := peerSummary{clients: 50, duration: 5 * time.Second, seed: 10000, gomaxprocs: 2, cores: 2,
		embedded: side(labelEmbedded, 300, 50<<20), mongo: side(labelMongo, 100, 200<<20), pocketBase: side(labelPocketBase, 200, 100<<20),
		idle: idleSummary{backends: 20, before: 80 << 20, after: 120 << 20, idle: 5 * time.Second}}
	s.embedded.unavailable[peerListIndexed] = "not available: POST … answers 404"
	s.mongo.memoryParts = "backpack-api 70.0 MiB + FerretDB stand-in 130.0 MiB, each process's VmHWM"
	s.mongo.results[peerCreate] = summary{requests: 10, errors: 10, firstError: errors.New("status 503")}
	s.pocketBase.results[peerListIndexed] = summary{requests: 100, okPerSecond: 400}

	var out strings.Builder
	if err := printPeerTable(&out, s); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	// Each of these is found together on one line.
	for _, want := range [][]string{
		{"GOMAXPROCS=2 each (machine: 2 cores"},
		{peerCreate, labelEmbedded, "300.0", "1.50×", "≥ 1.5×", "yes"},
		{labelMongo, "10 ", "0.00×", "≥ 1.5×", "no"},
		{labelMongo, "100.0", "0.50×", "≥ 1×", "no"},
		{peerListIndexed, labelEmbedded, "not available", "-", "≥ 1×", "-"},
		{peerMemoryRow, labelEmbedded, "50.0 MiB", "0.50×", "≤ 1×", "yes"},
		{labelMongo, "200.0 MiB", "2.00×", "≤ 1×", "no"},
		{"idle memory per backend", "20 backends", "2.00 MiB", "< 5.0 MiB", "yes"},
		{labelEmbedded + ", " + peerListIndexed + ": not available: POST … answers 404"},
		{labelMongo + ", " + peerCreate + ": first error: status 503"},
		{labelMongo + ": peak memory = backpack-api 70.0 MiB + FerretDB stand-in 130.0 MiB"},
	} {
		if !slices.ContainsFunc(slices.Collect(strings.Lines(text)), func(line string) bool {
			return !slices.ContainsFunc(want, func(part string) bool { return !strings.Contains(line, part) })
		}) {
			t.Errorf("no line with all of %q:\n%s", want, text)
		}
	}
	// The target column starts at the same place on every row that has one.
	column := -1
	for line := range strings.Lines(text) {
		loc := targetCell.FindStringIndex(line)
		if loc == nil {
			continue
		}
		i := loc[0] + 2
		i = utf8.RuneCountInString(line[:i])
		if column < 0 {
			column = i
		} else if i != column {
			t.Errorf("target at column %d, want %d: %q", i, column, line)
		}
	}
	if column < 0 {
		t.Errorf("no target column:\n%s", text)
	}
}

// TestPeerScenario runs the peer scenario with tiny counts against the real servers and checks
// that it measured every workload it could on every server.
func TestPeerScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode: skipping the test that builds and runs backpack-api, the stand-in, PocketBase and backpack dev")
	}
	pocketBase := defaultPocketBase()
	if _, err := os.Stat(pocketBase); err != nil {
		testenv.Missing(t, fmt.Sprintf("the PocketBase binary (%v), built by scripts/build-gotool.sh pocketbase", err))
	}
	cfg := peerConfig{pocketBase: pocketBase, clients: 4, duration: 300 * time.Millisecond, seed: 2 * listLimit,
		gomaxprocs: 2, idleBackends: 1, idle: 100 * time.Millisecond, progress: t.Output()}
	s := runPeer(t.Context(), cfg)
	if s.failed != nil {
		t.Fatalf("peer scenario failed: %v", s.failed)
	}
	for _, side := range []peerSide{s.embedded, s.mongo, s.pocketBase} {
		if side.failed != nil {
			t.Errorf("%s failed: %v", side.label, side.failed)
			continue
		}
		for _, workload := range peerWorkloads {
			r, ok := side.results[workload]
			if !ok {
				if side.unavailable[workload] == "" {
					t.Errorf("%s, %s: neither measured nor said unavailable", side.label, workload)
				}
				continue
			}
			if r.requests == 0 || r.errors != 0 {
				t.Errorf("%s, %s: %+v, want requests without errors", side.label, workload, r)
			}
		}
		if side.peakMemory <= 0 || side.about == "" {
			t.Errorf("%s: peak memory %d, about %q", side.label, side.peakMemory, side.about)
		}
	}
	if _, ok := s.pocketBase.results[peerListIndexed]; !ok {
		t.Errorf("PocketBase's indexed list not measured: %s", s.pocketBase.unavailable[peerListIndexed])
	}
	if s.idle.failed != nil || !s.idle.measured() {
		t.Errorf("idle memory: %+v", s.idle)
	}
	var out strings.Builder
	if err := printPeerTable(&out, s); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
}

func TestFreePortsDistinct(t *testing.T) {
	ports, err := freePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	if len(ports) != 3 || ports[0] == ports[1] || ports[1] == ports[2] || ports[0] == ports[2] {
		t.Errorf("freePorts(3) = %v, want 3 distinct ports", ports)
	}
}
