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
	data    *core.Service
	log     *slog.Logger
	mu      sync.Mutex
	pending map[string][]core.FunctionLog
	count   int
	dropped int
}

func newLogBuffer(data *core.Service, log *slog.Logger) *logBuffer {
	return &logBuffer{data: data, log: log, pending: map[string][]core.FunctionLog{}}
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
	b.pending[fn.Name] = append(b.pending[fn.Name], core.FunctionLog{ID: bson.NewObjectID(), Version: fn.Version,
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
	b.pending, b.count, b.dropped = map[string][]core.FunctionLog{}, 0, 0
	b.mu.Unlock()
	if dropped > 0 {
		b.log.Warn("function log lines dropped: functions logged faster than they could be stored", "dropped", dropped)
	}
	for name, lines := range pending {
		if err := b.data.AppendFunctionLogs(ctx, name, lines); err != nil {
			b.log.Warn("store function logs", "function", name, "lines", len(lines), "err", err)
		}
	}
}

// The jsfunc.Host interface is implemented by host; keep the compiler checking it.
var _ jsfunc.Host = (*host)(nil)
