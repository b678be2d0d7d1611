package jsfunc

import (
	"context"
	"encoding/json"
	"errors"
	"runtime/metrics"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestTimeoutThenNextWorks(t *testing.T) {
	p := newTestPool(t, PoolConfig{Workers: 1})
	src := `function onRequest(req) { if (req.loop) { while (true) {} } return 'fine'; }`
	_, err := p.Invoke(ctxT(t), Invocation{Key: "loop", Source: src, Handler: "onRequest",
		Args: []json.RawMessage{json.RawMessage(`{"loop":true}`)}, Timeout: 200 * time.Millisecond, Host: newMemHost()})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("got %v", err)
	}
	res, err := invoke(t, p, "loop", src, "onRequest", nil, `{}`)
	if err != nil || string(res.Value) != `"fine"` {
		t.Fatalf("next invocation: %s, %v", res.Value, err)
	}
}

// A loop keeps its worker busy until its context ends; meanwhile the other worker answers.
func TestLoopDoesNotBlockOtherWorkers(t *testing.T) {
	p := newTestPool(t, PoolConfig{Workers: 2})
	started := make(chan struct{})
	host := newMemHost()
	host.db = func(context.Context, DBCall) (json.RawMessage, error) {
		close(started)
		return json.RawMessage(`null`), nil
	}
	ctx, cancel := context.WithCancel(ctxT(t))
	done := make(chan error, 1)
	go func() {
		_, err := p.Invoke(ctx, Invocation{Key: "spin", Source: `function onRequest(req, ctx) { ctx.db.get('c', '1'); while (true) {} }`,
			Handler: "onRequest", Args: []json.RawMessage{json.RawMessage(`{}`)}, Timeout: time.Hour, Host: host})
		done <- err
	}()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("the loop ended before it started: %v", err)
	}
	for i := range 5 {
		res, err := invoke(t, p, "quick", `function onRequest() { return 1; }`, "onRequest", nil, `{}`)
		if err != nil || string(res.Value) != "1" {
			t.Fatalf("quick invocation %d during the loop: %s, %v", i, res.Value, err)
		}
	}
	select {
	case err := <-done:
		t.Fatalf("the loop ended before it was canceled: %v", err)
	default:
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled loop: %v", err)
	}
}

// Code stuck outside JS (here a Host call that does not return) is ended by the hard deadline.
func TestHardDeadline(t *testing.T) {
	p := newTestPool(t, PoolConfig{Workers: 1})
	host := newMemHost()
	host.db = func(ctx context.Context, _ DBCall) (json.RawMessage, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	_, err := p.Invoke(ctxT(t), Invocation{Key: "stuck", Source: `function onRequest(req, ctx) { return ctx.db.get('c', '1'); }`,
		Handler: "onRequest", Args: []json.RawMessage{json.RawMessage(`{}`)}, Timeout: 100 * time.Millisecond, Host: host})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("got %v", err)
	}
	res, err := invoke(t, p, "after-stuck", `function onRequest() { return 2; }`, "onRequest", nil, `{}`)
	if err != nil || string(res.Value) != "2" {
		t.Fatalf("next invocation: %s, %v", res.Value, err)
	}
}

func heapObjects() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func TestMemoryLimit(t *testing.T) {
	const limit = 64 << 20
	p := newTestPool(t, PoolConfig{Workers: 1, MemoryLimit: limit})
	before := heapObjects()
	src := `function onRequest(req) {
  if (!req.grow) return 'small';
  let a = []; while (true) a.push(new Array(1e5).fill(1));
}`
	_, err := p.Invoke(ctxT(t), Invocation{Key: "grow", Source: src, Handler: "onRequest",
		Args: []json.RawMessage{json.RawMessage(`{"grow":true}`)}, Timeout: 50 * time.Second, Host: newMemHost()})
	if !errors.Is(err, ErrMemory) {
		t.Fatalf("got %v", err)
	}
	if after := heapObjects(); after > before+limit/2 {
		t.Fatalf("the API process grew from %d to %d bytes", before, after)
	}
	res, err := invoke(t, p, "grow", src, "onRequest", nil, `{}`)
	if err != nil || string(res.Value) != `"small"` {
		t.Fatalf("next invocation: %s, %v", res.Value, err)
	}
}

func TestDeepRecursion(t *testing.T) {
	p := newTestPool(t, PoolConfig{Workers: 1})
	src := `function f(n) { return f(n + 1) + 1; } function onRequest() { try { return f(0); } catch (e) { return 'caught'; } }`
	_, err := invoke(t, p, "rec", src, "onRequest", nil, `{}`)
	var te *ThrownError
	if !errors.As(err, &te) || !strings.Contains(te.Message, "Maximum call stack size exceeded") {
		t.Fatalf("got %v", err)
	}
	res, err := invoke(t, p, "rec2", `function onRequest() { return 3; }`, "onRequest", nil, `{}`)
	if err != nil || string(res.Value) != "3" {
		t.Fatalf("next invocation: %s, %v", res.Value, err)
	}
}

func TestWorkerKilled(t *testing.T) {
	p := newTestPool(t, PoolConfig{Workers: 1})
	host := newMemHost()
	host.db = func(ctx context.Context, _ DBCall) (json.RawMessage, error) {
		w := ctx.Value(leaseKey{}).(*lease).w
		if err := syscall.Kill(w.cmd.Process.Pid, syscall.SIGKILL); err != nil {
			return nil, err
		}
		<-w.dead
		return json.RawMessage(`1`), nil
	}
	_, err := p.Invoke(ctxT(t), Invocation{Key: "victim", Source: `function onRequest(req, ctx) { return ctx.db.get('c', '1'); }`,
		Handler: "onRequest", Args: []json.RawMessage{json.RawMessage(`{}`)}, Host: host})
	if !errors.Is(err, ErrCrashed) {
		t.Fatalf("got %v", err)
	}
	res, err := invoke(t, p, "victim", `function onRequest(req, ctx) { return ctx.db.get('c', '1'); }`, "onRequest", nil, `{}`)
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 404 {
		t.Fatalf("next invocation on a new worker: %s, %v", res.Value, err)
	}
}

func TestNestedInvocation(t *testing.T) {
	// One worker: a nested invocation that waited for a free worker would never run.
	p := newTestPool(t, PoolConfig{Workers: 1})
	hook := `function beforeCreate(doc, ctx) { doc.stamped = ctx.user.id; return doc; }`
	host := newMemHost()
	host.db = func(ctx context.Context, call DBCall) (json.RawMessage, error) {
		res, err := p.Invoke(ctx, Invocation{Key: "hook", Source: hook, Handler: "beforeCreate",
			Args: []json.RawMessage{call.Doc}, User: &User{ID: "u9"}, Host: newMemHost()})
		return res.Value, err
	}
	res, err := invoke(t, p, "outer", `function onRequest(req, ctx) { return ctx.db.create('notes', {text: 'hi'}); }`, "onRequest", host, `{}`)
	if err != nil || string(res.Value) != `{"text":"hi","stamped":"u9"}` {
		t.Fatalf("got %s, %v", res.Value, err)
	}
}

func TestTooDeep(t *testing.T) {
	p := newTestPool(t, PoolConfig{Workers: 1})
	src := `let calls = 0; function onRequest(req, ctx) { calls++; return ctx.db.create('c', {depth: req.depth}); }`
	var mu sync.Mutex
	var errs []error
	host := newMemHost()
	host.db = func(ctx context.Context, call DBCall) (json.RawMessage, error) {
		var doc struct{ Depth int }
		_ = json.Unmarshal(call.Doc, &doc)
		next, _ := json.Marshal(map[string]int{"depth": doc.Depth + 1})
		res, err := p.Invoke(ctx, Invocation{Key: "deep", Source: src, Handler: "onRequest", Args: []json.RawMessage{next}, Host: host})
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
		return res.Value, err
	}
	_, err := invoke(t, p, "deep", src, "onRequest", host, `{"depth":0}`)
	var te *ThrownError
	if !errors.As(err, &te) || !strings.Contains(te.Message, genericDBError) {
		t.Fatalf("outer: %v", err)
	}
	if len(host.calls) != MaxDepth+1 || !errors.Is(errs[0], ErrTooDeep) {
		t.Fatalf("%d db calls, errors %v", len(host.calls), errs)
	}
	for _, err := range errs[1:] {
		if !errors.As(err, &te) {
			t.Fatalf("errors %v", errs)
		}
	}
}

func TestLogs(t *testing.T) {
	p := newTestPool(t, PoolConfig{Workers: 1})
	host := newMemHost()
	src := `function onRequest(req, ctx) {
  ctx.log('x'.repeat(10000));
  console.error(new Error('bad'), 'then', 7);
  for (let i = 0; i < 250; i++) console.log('line', i, {a: i}, [1], null, undefined);
}`
	if _, err := invoke(t, p, "logs", src, "onRequest", host, `{}`); err != nil {
		t.Fatal(err)
	}
	logs := host.logLines()
	if len(logs) != maxLogLines+1 {
		t.Fatalf("%d lines", len(logs))
	}
	if len(logs[0].Message) > maxLogLine+len("…") || !strings.HasPrefix(logs[0].Message, "xxxx") || logs[0].Level != "info" {
		t.Fatalf("long line: %d bytes, level %s", len(logs[0].Message), logs[0].Level)
	}
	if logs[1].Level != "error" || !strings.HasPrefix(logs[1].Message, "Error: bad") || !strings.HasSuffix(logs[1].Message, " then 7") {
		t.Fatalf("error line: %+v", logs[1])
	}
	if logs[2].Message != `line 0 {"a":0} [1] null undefined` || logs[2].Time.IsZero() {
		t.Fatalf("line: %+v", logs[2])
	}
	if last := logs[len(logs)-1].Message; !strings.HasPrefix(last, "52 more log lines dropped") {
		t.Fatalf("last line: %q", last)
	}
}
