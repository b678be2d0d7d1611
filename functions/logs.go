package functions

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/backpackhq/backpack/core"
	"github.com/backpackhq/backpack/tools/jsfunc"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Log buffering: lines are stored in batches, so a function logging in a loop costs the
// database one write per line at most every flushEvery, and a flood is cut at maxBuffered.
const (
	flushEvery  = 250 * time.Millisecond
	maxBuffered = 2000
)

// logBuffer gathers the functions' log lines on this replica and stores them per function.
type logBuffer struct {
	data *core.Service
	// runs says whether this very function (by name and creation) is still deployed: lines of
	// a deleted one are dropped, so they never reach a new function of the same name.
	runs    func(lineage) bool
	log     *slog.Logger
	mu      sync.Mutex
	pending map[lineage][]core.FunctionLog
	count   int
	dropped int
}

// lineage is one function from its first deploy to its deletion: every version of it.
type lineage struct{ name, createdAt string }

func lineageOf(fn core.Function) lineage { return lineage{fn.Name, fn.CreatedAt} }

func newLogBuffer(data *core.Service, log *slog.Logger, runs func(lineage) bool) *logBuffer {
	return &logBuffer{data: data, log: log, runs: runs, pending: map[lineage][]core.FunctionLog{}}
}

func (b *logBuffer) add(fn core.Function, level, msg string) { b.addAt(fn, level, msg, time.Now()) }

func (b *logBuffer) addAt(fn core.Function, level, msg string, at time.Time) {
	if level != "error" {
		level = "info"
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.count >= maxBuffered {
		b.dropped++
		return
	}
	b.count++
	b.pending[lineageOf(fn)] = append(b.pending[lineageOf(fn)], core.FunctionLog{ID: bson.NewObjectID(), Lineage: fn.CreatedAt, Version: fn.Version,
		Time: at.UTC().Format(core.TimestampLayout), Level: level, Message: msg})
}

// run stores what was logged every flushEvery until ctx ends, then once more.
func (b *logBuffer) run(ctx context.Context) {
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			b.flush(fctx)
			cancel()
			return
		case <-t.C:
			b.flush(ctx)
		}
	}
}

func (b *logBuffer) flush(ctx context.Context) {
	b.mu.Lock()
	pending, dropped := b.pending, b.dropped
	b.pending, b.count, b.dropped = map[lineage][]core.FunctionLog{}, 0, 0
	b.mu.Unlock()
	if dropped > 0 {
		b.log.Warn("function log lines dropped: functions logged faster than they could be stored", "dropped", dropped)
	}
	for l, lines := range pending {
		if !b.runs(l) {
			continue
		}
		if err := b.data.AppendFunctionLogs(ctx, l.name, lines); err != nil {
			b.log.Warn("store function logs", "function", l.name, "lines", len(lines), "err", err)
		}
	}
}

// The jsfunc.Host interface is implemented by host; keep the compiler checking it.
var _ jsfunc.Host = (*host)(nil)
