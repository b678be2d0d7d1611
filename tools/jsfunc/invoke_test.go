package jsfunc

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestInvokeReturnValues(t *testing.T) {
	p := newTestPool(t, PoolConfig{Workers: 2})
	src := `
function onRequest(req, ctx) {
  switch (req.want) {
    case 'number': return 42;
    case 'string': return 'hi';
    case 'object': return {status: 201, body: {a: [1, 2, {b: null}]}};
    case 'undefined': return undefined;
    case 'function': return function () {};
  }
}`
	for want, expect := range map[string]string{
		"number": `42`, "string": `"hi"`, "object": `{"status":201,"body":{"a":[1,2,{"b":null}]}}`,
		"undefined": `null`, "function": `null`,
	} {
		res, err := invoke(t, p, "values", src, "onRequest", nil, `{"want":"`+want+`"}`)
		if err != nil {
			t.Fatalf("%s: %v", want, err)
		}
		if string(res.Value) != expect {
			t.Errorf("%s: got %s, want %s", want, res.Value, expect)
		}
	}
}

func TestInvokeAsyncAndArgs(t *testing.T) {
	p := newTestPool(t, PoolConfig{Workers: 2})
	src := `
async function beforeUpdate(doc, old, ctx) {
  const x = await Promise.resolve(doc.n * 2);
  return {n: x, was: old.n};
}
async function afterDelete(old, ctx) { throw new Error('rejected ' + old.n); }
function onRequest(req, ctx) { return new Promise(function () {}); }`
	res, err := invoke(t, p, "async", src, "beforeUpdate", nil, `{"n":21}`, `{"n":1}`)
	if err != nil || string(res.Value) != `{"n":42,"was":1}` {
		t.Fatalf("async: %s, %v", res.Value, err)
	}
	_, err = invoke(t, p, "async", src, "afterDelete", nil, `{"n":7}`)
	var te *ThrownError
	if !errors.As(err, &te) || !strings.Contains(te.Message, "rejected 7") {
		t.Fatalf("rejected promise: %v", err)
	}
	_, err = invoke(t, p, "async", src, "onRequest", nil, `{}`)
	if !errors.As(err, &te) || te.Message != neverSettled {
		t.Fatalf("pending promise: %v", err)
	}
}

func TestInvokeUserAndEnv(t *testing.T) {
	p := newTestPool(t, PoolConfig{Workers: 2})
	src := `function onRequest(req, ctx) { return {user: ctx.user, env: ctx.env}; }`
	res, err := p.Invoke(ctxT(t), Invocation{Key: "ue", Source: src, Handler: "onRequest",
		Args: []json.RawMessage{json.RawMessage(`{}`)}, User: &User{ID: "u1", Email: "ann@example.com"},
		Env: map[string]string{"GREETING": "hello"}, Host: newMemHost()})
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Value) != `{"user":{"id":"u1","email":"ann@example.com"},"env":{"GREETING":"hello"}}` {
		t.Fatalf("got %s", res.Value)
	}
	res, err = invoke(t, p, "ue", src, "onRequest", nil, `{}`)
	if err != nil || string(res.Value) != `{"user":null,"env":{}}` {
		t.Fatalf("anonymous: %s, %v", res.Value, err)
	}
}

func TestInvokeGlobalsPersist(t *testing.T) {
	p := newTestPool(t, PoolConfig{Workers: 1})
	src := `let n = 0; function onRequest() { return ++n; }`
	for i := 1; i <= 3; i++ {
		res, err := invoke(t, p, "counter", src, "onRequest", nil, `{}`)
		if err != nil || string(res.Value) != strings.Repeat("", 0)+string(rune('0'+i)) {
			t.Fatalf("call %d: %s, %v", i, res.Value, err)
		}
	}
}

func TestInvokeDB(t *testing.T) {
	p := newTestPool(t, PoolConfig{Workers: 2})
	host := newMemHost()
	src := `
async function onRequest(req, ctx) {
  const a = ctx.db.create('cars', {make: 'VW'});
  const b = await ctx.admin.db.get('cars', a._id);
  const all = ctx.db.find('cars', {make: 'VW'}, {sort: '-year', limit: 5});
  let missing;
  try { ctx.db.get('cars', 'nope'); } catch (e) {
    missing = {isHttp: e instanceof ctx.HttpError, global: e instanceof HttpError, status: e.status, code: e.code};
  }
  let failed;
  try { ctx.db.replace('cars', a._id, {}); } catch (e) { failed = e.message; }
  return {a, b, count: all.length, missing, failed};
}
function beforeDelete(old, ctx) { return ctx.db.get('cars', 'nope'); }`
	res, err := invoke(t, p, "db", src, "onRequest", host, `{}`)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(res.Value, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"a": map[string]any{"make": "VW", "_id": "1"}, "b": map[string]any{"make": "VW", "_id": "1"}, "count": 1.0,
		"missing": map[string]any{"isHttp": true, "global": true, "status": 404.0, "code": "not_found"},
		"failed":  genericDBError,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	calls := host.calls
	if len(calls) != 5 || calls[0].Op != "create" || calls[0].Admin || string(calls[0].Doc) != `{"make":"VW"}` ||
		calls[1].Op != "get" || !calls[1].Admin || calls[1].ID != "1" ||
		string(calls[2].Filter) != `{"make":"VW"}` || string(calls[2].Options) != `{"sort":"-year","limit":5}` {
		t.Fatalf("calls: %+v", calls)
	}
	// An HttpError of the Host that the code does not catch comes back as itself.
	_, err = invoke(t, p, "db", src, "beforeDelete", host, `{}`)
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 404 || he.Code != "not_found" || he.Message != "no such document" {
		t.Fatalf("uncaught host error: %v", err)
	}
}

func TestInvokeHTTPError(t *testing.T) {
	p := newTestPool(t, PoolConfig{Workers: 2})
	src := `function beforeCreate(doc, ctx) {
  if (!doc.title) throw new ctx.HttpError(400, 'title_required', 'a title is required');
  return doc;
}`
	_, err := invoke(t, p, "he", src, "beforeCreate", nil, `{}`)
	var he *HTTPError
	if !errors.As(err, &he) || *he != (HTTPError{Status: 400, Code: "title_required", Message: "a title is required"}) {
		t.Fatalf("got %v", err)
	}
	res, err := invoke(t, p, "he", src, "beforeCreate", nil, `{"title":"x"}`)
	if err != nil || string(res.Value) != `{"title":"x"}` {
		t.Fatalf("got %s, %v", res.Value, err)
	}
}

func TestInvokeThrown(t *testing.T) {
	p := newTestPool(t, PoolConfig{Workers: 2})
	host := newMemHost()
	_, err := invoke(t, p, "throw", `function onRequest() { null.x; }`, "onRequest", host, `{}`)
	var te *ThrownError
	if !errors.As(err, &te) || !strings.Contains(te.Message, "TypeError") || !strings.Contains(te.Stack, "onRequest") {
		t.Fatalf("got %#v", err)
	}
	logs := host.logLines()
	if len(logs) != 1 || logs[0].Level != "error" || !strings.Contains(logs[0].Message, "TypeError") {
		t.Fatalf("the failure is not in the logs: %+v", logs)
	}
	_, err = invoke(t, p, "throw", `function onRequest() { null.x; }`, "afterCreate", nil, `{}`)
	if !errors.As(err, &te) || !strings.Contains(te.Message, "does not define afterCreate") {
		t.Fatalf("missing handler: %v", err)
	}
	if _, err := invoke(t, p, "throw", `x`, "eval", nil); err == nil || errors.As(err, &te) {
		t.Fatalf("a handler outside the contract: %v", err)
	}
}

func TestSyntaxError(t *testing.T) {
	p := newTestPool(t, PoolConfig{Workers: 1})
	src := "function onRequest(req, ctx) {\n  return a b;\n}"
	for name, err := range map[string]error{
		"Check":  Check(src),
		"Invoke": func() error { _, err := invoke(t, p, "syn", src, "onRequest", nil, `{}`); return err }(),
		"Load":   func() error { _, err := p.Load(ctxT(t), "syn2", src, 0); return err }(),
	} {
		var se *SyntaxError
		if !errors.As(err, &se) || se.Line != 2 || se.Column != 12 || se.Message == "" {
			t.Errorf("%s: got %#v", name, err)
		}
	}
	// An early error found by the compiler rather than the parser has a position too.
	var se *SyntaxError
	if err := Check("let a = 1;\nlet a = 2;"); !errors.As(err, &se) || se.Line != 2 {
		t.Errorf("redeclaration: %#v", err)
	}
	if err := Check("function onRequest() {}"); err != nil {
		t.Errorf("valid source: %v", err)
	}
}

func TestLoad(t *testing.T) {
	p := newTestPool(t, PoolConfig{Workers: 1})
	handlers, err := p.Load(ctxT(t), "load", `
const afterDelete = (old, ctx) => {};
async function onRequest() {}
function beforeCreate() {}
var helper = 1;
function notAHandler() {}`, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(handlers, []string{"onRequest", "beforeCreate", "afterDelete"}) {
		t.Fatalf("got %v", handlers)
	}
	_, err = p.Load(ctxT(t), "load-throw", `throw new Error('top level broke');`, 0)
	var te *ThrownError
	if !errors.As(err, &te) || !strings.Contains(te.Message, "top level broke") {
		t.Fatalf("top-level throw: %v", err)
	}
	_, err = p.Load(ctxT(t), "load-loop", `while (true) {}`, 200_000_000)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("top-level loop: %v", err)
	}
}

func TestSourceResentAfterEviction(t *testing.T) {
	p := newTestPool(t, PoolConfig{Workers: 1})
	src := `function onRequest() { return 'first'; }`
	if _, err := invoke(t, p, "evict-0", src, "onRequest", nil, `{}`); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= maxCachedKeys; i++ {
		if _, err := invoke(t, p, "evict-"+string(rune('A'+i%26))+strings.Repeat("x", i), `function onRequest() {}`, "onRequest", nil, `{}`); err != nil {
			t.Fatal(err)
		}
	}
	res, err := invoke(t, p, "evict-0", src, "onRequest", nil, `{}`)
	if err != nil || string(res.Value) != `"first"` {
		t.Fatalf("got %s, %v", res.Value, err)
	}
}

func TestInvokeWaitsForAWorker(t *testing.T) {
	p := newTestPool(t, PoolConfig{Workers: 1})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := p.Invoke(ctx, Invocation{Key: "k", Source: `function onRequest() {}`, Handler: "onRequest", Host: newMemHost()})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled context: %v", err)
	}
}
