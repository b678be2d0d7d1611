package jsfunc

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	RunWorkerIfRequested()
	os.Exit(m.Run())
}

// newTestPool makes a pool of real worker processes (this test binary) closed with the test.
func newTestPool(t testing.TB, cfg PoolConfig) *Pool {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	}
	p := NewPool(cfg)
	t.Cleanup(p.Close)
	return p
}

// testWriter sends the pool's logs to the test log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(string(b))
	return len(b), nil
}

// memHost is the app's side for the tests: collections in memory, logs kept.
type memHost struct {
	mu    sync.Mutex
	data  map[string]map[string]json.RawMessage
	calls []DBCall
	logs  []LogEntry
	next  int
	// db, when set, answers instead of the collections (for errors and nested invocations).
	db func(ctx context.Context, call DBCall) (json.RawMessage, error)
}

func newMemHost() *memHost {
	return &memHost{data: map[string]map[string]json.RawMessage{}}
}

func (h *memHost) DB(ctx context.Context, call DBCall) (json.RawMessage, error) {
	h.mu.Lock()
	h.calls = append(h.calls, call)
	h.mu.Unlock()
	if h.db != nil {
		return h.db(ctx, call)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	coll := h.data[call.Collection]
	if coll == nil {
		coll = map[string]json.RawMessage{}
		h.data[call.Collection] = coll
	}
	switch call.Op {
	case "create":
		var doc map[string]any
		if err := json.Unmarshal(call.Doc, &doc); err != nil {
			return nil, &HTTPError{Status: 400, Code: "invalid_document", Message: "not an object"}
		}
		h.next++
		doc["_id"] = strconv.Itoa(h.next)
		b, _ := json.Marshal(doc)
		coll[doc["_id"].(string)] = b
		return b, nil
	case "get":
		doc, ok := coll[call.ID]
		if !ok {
			return nil, &HTTPError{Status: 404, Code: "not_found", Message: "no such document"}
		}
		return doc, nil
	case "find":
		docs := []json.RawMessage{}
		for _, d := range coll {
			docs = append(docs, d)
		}
		return json.Marshal(docs)
	case "delete":
		delete(coll, call.ID)
		return json.RawMessage(`{"deleted":true}`), nil
	}
	return nil, fmt.Errorf("op %s not supported by the test host", call.Op)
}

func (h *memHost) Log(e LogEntry) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.logs = append(h.logs, e)
}

func (h *memHost) logLines() []LogEntry {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]LogEntry(nil), h.logs...)
}

// ctxT is a context bounded by a generous safety timeout.
func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// invoke runs handler of source once with the given args.
func invoke(t testing.TB, p *Pool, key, source, handler string, host Host, args ...string) (Result, error) {
	t.Helper()
	raw := make([]json.RawMessage, len(args))
	for i, a := range args {
		raw[i] = json.RawMessage(a)
	}
	if host == nil {
		host = newMemHost()
	}
	return p.Invoke(ctxT(t), Invocation{Key: key, Source: source, Handler: handler, Args: raw, Host: host})
}
