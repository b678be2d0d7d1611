package jsfunc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// maxStderrLines bounds how many stderr lines of one worker reach the Logger (a crash dump of a
// Go runtime can be thousands).
const maxStderrLines = 200

// proc is the API side of one worker process.
type proc struct {
	cfg    PoolConfig
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader

	mu   sync.Mutex      // one exchange with the worker at a time (nested ones take turns)
	keys map[string]bool // keys whose source the worker was sent; guarded by mu

	idleSince time.Time // guarded by the pool's mu

	dead     chan struct{} // closed once the process has exited and its stderr is drained
	stopping atomic.Bool   // the pool ended it on purpose
	memFlag  atomic.Bool   // the watchdog fired during the current outer invocation
	sawOOM   atomic.Bool   // the Go runtime said it ran out of memory

	killMu sync.Mutex
	reason error // why the API side killed it; guarded by killMu
}

// startProc starts a worker process.
func startProc(cfg PoolConfig) (*proc, error) {
	cmd := cfg.Command()
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, workerEnv+"=1", memoryLimitEnv(cfg.MemoryLimit))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("function worker stdin: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("function worker stdout: %w", err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("function worker stderr: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start function worker: %w", err)
	}
	w := &proc{cfg: cfg, cmd: cmd, stdin: stdin, stdout: bufio.NewReaderSize(stdout, 64<<10),
		keys: map[string]bool{}, dead: make(chan struct{})}
	go w.watch(stderr)
	return w, nil
}

// watch logs the worker's stderr, then reaps the process.
func (w *proc) watch(stderr io.Reader) {
	log := w.cfg.Logger.With("pid", w.cmd.Process.Pid)
	sc := bufio.NewScanner(stderr)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	lines, dropped := 0, 0
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "out of memory") {
			w.sawOOM.Store(true)
		}
		if lines < maxStderrLines {
			lines++
			log.Warn("function worker: " + line)
		} else {
			dropped++
		}
	}
	if dropped > 0 {
		log.Warn("function worker: stderr lines dropped", "count", dropped)
	}
	err := w.cmd.Wait()
	if !w.stopping.Load() {
		log.Warn("function worker exited", "err", err, "reason", w.killReason())
	}
	close(w.dead)
}

// isDead reports whether the process has exited.
func (w *proc) isDead() bool {
	select {
	case <-w.dead:
		return true
	default:
		return false
	}
}

// kill ends the process at once; the first reason given is what invocations on it report.
func (w *proc) kill(reason error) {
	w.killMu.Lock()
	if w.reason == nil {
		w.reason = reason
	}
	w.killMu.Unlock()
	if reason == ErrCrashed {
		w.stopping.Store(true)
	}
	_ = w.cmd.Process.Kill()
}

// stop ends an idle worker gracefully: it exits when its stdin closes.
func (w *proc) stop() {
	w.stopping.Store(true)
	_ = w.stdin.Close()
}

func (w *proc) killReason() error {
	w.killMu.Lock()
	defer w.killMu.Unlock()
	return w.reason
}

// deathError waits for the process to be gone and says what the invocation on it should report.
func (w *proc) deathError() error {
	<-w.dead
	if r := w.killReason(); r != nil {
		return r
	}
	if w.memFlag.Load() || w.sawOOM.Load() {
		return ErrMemory
	}
	return ErrCrashed
}

// ctxError is the error of a finished context: ErrTimeout for a deadline.
func ctxError(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return ErrTimeout
	}
	return ctx.Err()
}
