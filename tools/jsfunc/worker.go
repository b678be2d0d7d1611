package jsfunc

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"
)

// RunWorkerIfRequested turns this process into a function worker and never returns when the
// environment variable BACKPACK_FUNCTION_WORKER=1 is set; otherwise it returns at once. Both
// binaries call it first thing in main, test binaries in TestMain.
func RunWorkerIfRequested() {
	if os.Getenv(workerEnv) != "1" {
		return
	}
	limit, err := strconv.ParseInt(os.Getenv(memoryEnv), 10, 64)
	if err != nil || limit <= 0 {
		limit = defaultMemMB << 20
	}
	limitMemory(limit)
	w := newWorker(os.Stdin, os.Stdout, limit)
	if err := w.serve(); err != nil {
		exitWorker(err)
	}
	os.Exit(0)
}

// maxCachedKeys is how many sources a worker keeps compiled, with their runtimes.
const maxCachedKeys = 64

// worker is the worker process's side: it runs one invocation at a time, plus the invocations
// nested in it while it waits for a db answer.
type worker struct {
	in       *bufio.Reader
	outMu    sync.Mutex
	out      io.Writer
	memLimit int64
	cache    *programCache

	activeMu sync.Mutex
	active   []*goja.Runtime // the runtimes running, outermost first
	memHit   atomic.Bool     // the watchdog fired during the current outer invocation
	stopWD   chan struct{}   // stops the current outer invocation's watchdog
}

func newWorker(in io.Reader, out io.Writer, memLimit int64) *worker {
	return &worker{in: bufio.NewReaderSize(in, 64<<10), out: out, memLimit: memLimit, cache: newProgramCache(maxCachedKeys)}
}

// serve answers invoke frames until stdin closes.
func (w *worker) serve() error {
	for {
		m, err := readFrame(w.in)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if m.T != frameInvoke {
			return fmt.Errorf("unexpected %q frame while idle", m.T)
		}
		if err := w.send(w.handle(m)); err != nil {
			return err
		}
	}
}

// send writes one frame to the API side.
func (w *worker) send(m *message) error {
	w.outMu.Lock()
	defer w.outMu.Unlock()
	return writeFrame(w.out, m)
}

// dbCall sends a db call and waits for its answer, running the invocations nested in it. If the
// pipe breaks the API side is gone (or killed this worker): the worker exits.
func (w *worker) dbCall(call *DBCall) *message {
	if err := w.send(&message{T: frameDB, Call: call}); err != nil {
		exitWorker(err)
	}
	for {
		m, err := readFrame(w.in)
		if err != nil {
			exitWorker(err)
		}
		switch m.T {
		case frameDBRes:
			return m
		case frameInvoke:
			if err := w.send(w.handle(m)); err != nil {
				exitWorker(err)
			}
		default:
			exitWorker(fmt.Errorf("unexpected %q frame while waiting for a db answer", m.T))
		}
	}
}

// exitWorker ends a worker whose conversation with the API side broke.
func exitWorker(err error) {
	fmt.Fprintln(os.Stderr, "function worker:", err)
	os.Exit(1)
}

// handle runs one invocation (or load) and returns its result frame.
func (w *worker) handle(m *message) *message {
	outer := w.enter()
	defer w.leave(outer)
	e := w.cache.get(m.Key)
	if e == nil {
		if m.Source == "" {
			return &message{T: frameResult, Err: &wireError{Kind: kindNeedSource}}
		}
		prog, err := compile(m.Key, m.Source)
		if err != nil {
			var se *SyntaxError
			errors.As(err, &se)
			return &message{T: frameResult, Err: &wireError{Kind: kindSyntax, Message: se.Message, Line: se.Line, Column: se.Column}}
		}
		e = w.cache.add(m.Key, prog)
	}
	inv := newInvState(w, m)
	defer inv.finish()

	rt, shared := e.rt, !e.busy
	var prog *goja.Program
	if rt == nil || !shared {
		built, err := newJSRuntime()
		if err != nil {
			return &message{T: frameResult, Err: &wireError{Kind: kindThrown, Message: err.Error()}}
		}
		rt, prog = built, e.prog
	}
	if shared {
		e.busy = true
		defer func() { e.busy = false }()
	}
	res := rt.execute(inv, prog, m)
	if shared {
		switch {
		case rt.broken:
			e.rt = nil
		case prog != nil:
			e.rt = rt
		}
	}
	return res
}

// enter registers an invocation; the outermost one starts the memory watchdog.
func (w *worker) enter() bool {
	w.activeMu.Lock()
	defer w.activeMu.Unlock()
	outer := w.stopWD == nil
	if outer {
		w.memHit.Store(false)
		w.stopWD = make(chan struct{})
		go w.watchMemory(w.stopWD)
	}
	return outer
}

// leave ends an invocation; after the outermost one it stops the watchdog and, if the watchdog
// fired, drops every cached runtime (whatever holds the memory goes) and returns it to the OS.
func (w *worker) leave(outer bool) {
	if !outer {
		return
	}
	w.activeMu.Lock()
	close(w.stopWD)
	w.stopWD = nil
	w.activeMu.Unlock()
	if w.memHit.Load() {
		w.cache.dropRuntimes()
		runtime.GC()
		debug.FreeOSMemory()
	}
}

// push and pop track the runtimes running, for the watchdog.
func (w *worker) push(vm *goja.Runtime) {
	w.activeMu.Lock()
	w.active = append(w.active, vm)
	w.activeMu.Unlock()
}

func (w *worker) pop() {
	w.activeMu.Lock()
	w.active = w.active[:len(w.active)-1]
	w.activeMu.Unlock()
}

// interruptAll interrupts every running runtime with v.
func (w *worker) interruptAll(v any) {
	w.activeMu.Lock()
	defer w.activeMu.Unlock()
	for _, vm := range w.active {
		vm.Interrupt(v)
	}
}

// invState is one invocation in the worker: its log budget and the context its fetches use.
type invState struct {
	w        *worker
	m        *message
	deadline time.Time
	done     bool
	logs     int
	dropped  int
	fetch    *fetchScope
}

func newInvState(w *worker, m *message) *invState {
	timeout := time.Duration(m.TimeoutMS) * time.Millisecond
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	return &invState{w: w, m: m, deadline: time.Now().Add(timeout), fetch: newFetchScope(m.FetchHosts)}
}

// Log caps: bytes per line and lines per invocation.
const (
	maxLogLine  = 8 << 10
	maxLogLines = 200
)

// log sends one log line, within the caps.
func (inv *invState) log(level, text string) {
	if inv.logs >= maxLogLines {
		inv.dropped++
		return
	}
	inv.logs++
	if len(text) > maxLogLine {
		text = truncateUTF8(text, maxLogLine) + "…"
	}
	_ = inv.w.send(&message{T: frameLog, Time: time.Now(), Level: level, Text: text})
}

// finish ends the invocation: its ctx stops working, and dropped log lines are counted.
func (inv *invState) finish() {
	inv.done = true
	inv.fetch.cancel()
	if inv.dropped > 0 {
		_ = inv.w.send(&message{T: frameLog, Time: time.Now(), Level: "info",
			Text: fmt.Sprintf("%d more log lines dropped (at most %d per invocation)", inv.dropped, maxLogLines)})
	}
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
