package jsfunc

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// watchdogPeriod is how often a worker samples its heap while an invocation runs.
const watchdogPeriod = 2 * time.Millisecond

// memoryMarker and timeoutMarker are the values a runtime is interrupted with.
type interruptMarker string

const (
	memoryMarker  interruptMarker = "memory limit exceeded"
	timeoutMarker interruptMarker = "time limit exceeded"
)

// limitMemory makes the Go runtime collect hard near limit. There is no cap on the address
// space (RLIMIT_AS): Go and the C libraries a binary links reserve far more address space than
// they use, so any cap low enough to matter kills healthy workers; the watchdog's hard limit
// (hardLimit) and, in a stack, the container's memory limit are the backstops.
func limitMemory(limit int64) {
	debug.SetMemoryLimit(limit)
	debug.SetMaxStack(256 << 20)
}

// hardLimit is the heap at which a worker whose code did not stop when interrupted (it is
// inside one long native call) exits, after telling the pool why.
func hardLimit(limit int64) uint64 { return uint64(limit)*2 + 64<<20 }

// watchMemory interrupts the running code while the heap is over 90% of the limit, until stop
// closes: near the limit itself the Go collector runs almost without pause and a runaway would
// crawl towards it for seconds.
func (w *worker) watchMemory(stop chan struct{}) {
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	t := time.NewTicker(watchdogPeriod)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		metrics.Read(samples)
		if samples[0].Value.Kind() != metrics.KindUint64 || samples[0].Value.Uint64() <= uint64(w.memLimit)*9/10 {
			continue
		}
		if w.memHit.CompareAndSwap(false, true) {
			_ = w.send(&message{T: frameMemory})
		}
		w.interruptAll(memoryMarker)
		if samples[0].Value.Uint64() > hardLimit(w.memLimit) {
			os.Exit(3)
		}
	}
}
