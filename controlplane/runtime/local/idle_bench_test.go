package local

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkIdleBackends measures what an idle backend costs the local runtime: resident
// memory, Go heap and goroutines of this process with no backend, then with
// BACKPACK_IDLE_BACKENDS (default 20) running, each read after BACKPACK_IDLE_WAIT (default
// 5s) of idleness, the same as `make bench`'s peer scenario but in-process. With
// BACKPACK_IDLE_PROFILE=PREFIX it writes PREFIX.heap and PREFIX.goroutines while the backends
// idle, to see where the memory goes. Figures are reported, never asserted.
func BenchmarkIdleBackends(b *testing.B) {
	n := envInt(b, "BACKPACK_IDLE_BACKENDS", 20)
	wait := 5 * time.Second
	if v := os.Getenv("BACKPACK_IDLE_WAIT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("BACKPACK_IDLE_WAIT: %v", err)
		}
		wait = d
	}
	profile := os.Getenv("BACKPACK_IDLE_PROFILE")
	if profile != "" {
		runtime.MemProfileRate = 512
	}
	for b.Loop() {
		r := newTestRuntime(b, b.TempDir())
		time.Sleep(wait)
		before := readIdleFigures(b)
		for i := range n {
			name := fmt.Sprintf("idle%02d", i)
			mustApply(b, r, testSpec(name, "key-of-"+name+"-0123456789abcdef"))
		}
		time.Sleep(wait)
		after := readIdleFigures(b)
		if profile != "" {
			writeProfiles(b, profile)
		}
		b.ReportMetric(float64(after.rss-before.rss)/float64(n)/(1<<20), "RSS-MiB/backend")
		b.ReportMetric(float64(after.heap-before.heap)/float64(n)/(1<<20), "heap-MiB/backend")
		b.ReportMetric(float64(after.goroutines-before.goroutines)/float64(n), "goroutines/backend")
		b.Logf("before: %+v; after %s idle with %d backends: %+v", before, wait, n, after)
		if err := r.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// idleFigures are one reading of this process's memory.
type idleFigures struct {
	rss, heap, heapSys, released, stacks, other int64
	goroutines                                  int
}

func readIdleFigures(b *testing.B) idleFigures {
	b.Helper()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	f := idleFigures{heap: int64(ms.HeapInuse), heapSys: int64(ms.HeapSys), released: int64(ms.HeapReleased),
		stacks: int64(ms.StackSys), other: int64(ms.Sys - ms.HeapSys - ms.StackSys), goroutines: runtime.NumGoroutine()}
	if os.Getenv("BACKPACK_IDLE_FREE") != "" {
		debug.FreeOSMemory()
	}
	st, err := os.Open("/proc/self/status")
	if err != nil {
		b.Skipf("no /proc/self/status: %v", err)
	}
	defer st.Close()
	sc := bufio.NewScanner(st)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				b.Fatalf("VmRSS: %v", err)
			}
			f.rss = kib << 10
		}
	}
	return f
}

func envInt(b *testing.B, name string, def int) int {
	b.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		b.Fatalf("%s: %v", name, err)
	}
	return n
}

// writeProfiles writes the heap (after a collection) and the goroutines' stacks.
func writeProfiles(b *testing.B, prefix string) {
	b.Helper()
	runtime.GC()
	for name, debug := range map[string]int{"heap": 0, "goroutine": 2} {
		f, err := os.Create(prefix + "." + name)
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.Lookup(name).WriteTo(f, debug); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
