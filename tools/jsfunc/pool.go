package jsfunc

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"time"
)

// Environment variables that make a process a worker and tell it its memory limit.
const (
	workerEnv    = "BACKPACK_FUNCTION_WORKER"
	memoryEnv    = "BACKPACK_FUNCTION_MEMORY_LIMIT"
	defaultMemMB = 128
)

// PoolConfig sizes a Pool; zero values get the defaults.
type PoolConfig struct {
	// Workers is the most worker processes at once; default 2*GOMAXPROCS, at least 2.
	Workers int
	// MemoryLimit is the JS heap a worker may use, in bytes; default 128 MiB.
	MemoryLimit int64
	// IdleTimeout is how long an idle worker lives; default 60 s.
	IdleTimeout time.Duration
	// Command starts a worker; default: this executable with BACKPACK_FUNCTION_WORKER=1 added
	// to the environment (its main must call RunWorkerIfRequested first).
	Command func() *exec.Cmd
	// Logger receives the workers' stderr lines and crashes; default slog.Default().
	Logger *slog.Logger
}

// Pool runs invocations on worker processes it starts lazily, up to Workers at once; extra
// invocations wait for a free worker. It is safe for concurrent use.
type Pool struct {
	cfg   PoolConfig
	slots chan struct{} // one token per busy worker

	mu     sync.Mutex
	idle   []*proc            // free workers, most recently used last
	all    map[*proc]struct{} // every live worker
	closed bool
}

// NewPool makes a pool; no worker starts until the first invocation.
func NewPool(cfg PoolConfig) *Pool {
	if cfg.Workers <= 0 {
		cfg.Workers = max(2*runtime.GOMAXPROCS(0), 2)
	}
	if cfg.MemoryLimit <= 0 {
		cfg.MemoryLimit = defaultMemMB << 20
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 60 * time.Second
	}
	if cfg.Command == nil {
		cfg.Command = defaultCommand
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Pool{cfg: cfg, slots: make(chan struct{}, cfg.Workers), all: map[*proc]struct{}{}}
}

// defaultCommand re-executes this executable as a worker.
func defaultCommand() *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), workerEnv+"=1")
	return cmd
}

// acquire takes a free worker, starting one if none is idle, waiting while all are busy.
func (p *Pool) acquire(ctx context.Context) (*proc, error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for a function worker: %w", ctxError(ctx))
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.slots
		return nil, errPoolClosed
	}
	for len(p.idle) > 0 {
		w := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if !w.isDead() {
			p.mu.Unlock()
			return w, nil
		}
	}
	p.mu.Unlock()
	w, err := startProc(p.cfg)
	if err != nil {
		<-p.slots
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		w.kill(ErrCrashed)
		<-p.slots
		return nil, errPoolClosed
	}
	p.all[w] = struct{}{}
	go p.forget(w)
	return w, nil
}

// forget drops a worker from the pool once its process has exited.
func (p *Pool) forget(w *proc) {
	<-w.dead
	p.mu.Lock()
	delete(p.all, w)
	p.mu.Unlock()
}

// release gives a worker back; a dead one is simply dropped (the next acquire starts another).
func (p *Pool) release(w *proc) {
	defer func() { <-p.slots }()
	if w.isDead() {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		w.kill(ErrCrashed)
		return
	}
	w.idleSince = time.Now()
	p.idle = append(p.idle, w)
	time.AfterFunc(p.cfg.IdleTimeout, func() { p.reap(w) })
}

// reap ends a worker that stayed idle for IdleTimeout.
func (p *Pool) reap(w *proc) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, v := range p.idle {
		if v == w {
			if time.Since(w.idleSince) < p.cfg.IdleTimeout {
				return
			}
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			w.stop()
			return
		}
	}
}

// Close kills every worker and waits for them to exit; invocations in flight fail.
func (p *Pool) Close() {
	p.mu.Lock()
	p.closed = true
	workers := make([]*proc, 0, len(p.all))
	for w := range p.all {
		workers = append(workers, w)
	}
	p.idle = nil
	p.mu.Unlock()
	for _, w := range workers {
		w.kill(ErrCrashed)
	}
	for _, w := range workers {
		<-w.dead
	}
}

// memoryLimitEnv is the environment entry that passes the memory limit to a worker.
func memoryLimitEnv(limit int64) string {
	return memoryEnv + "=" + strconv.FormatInt(limit, 10)
}
