package jsfunc

import (
	"runtime/debug"
	"runtime/metrics"
	"syscall"
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

// addressSpaceBase is the address space a worker may reserve beyond four times its heap limit:
// an idle Go process already reserves about 1.5 GiB, and each thread its stack.
const addressSpaceBase = 4 << 30

// limitMemory makes the Go runtime collect hard near limit and caps the address space, so a
// runaway that the watchdog misses kills its worker rather than the machine.
func limitMemory(limit int64) {
	debug.SetMemoryLimit(limit)
	debug.SetMaxStack(256 << 20)
	as := uint64(limit)*4 + addressSpaceBase
	var cur syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_AS, &cur); err == nil && cur.Cur < as {
		return
	}
	_ = syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: as, Max: as})
}

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
	}
}
