package jsfunc

import (
	"sync"
	"testing"
	"time"
)

func TestIdleWorkerExits(t *testing.T) {
	p := newTestPool(t, PoolConfig{Workers: 1, IdleTimeout: 50 * time.Millisecond})
	if _, err := invoke(t, p, "idle", `function onRequest() {}`, "onRequest", nil, `{}`); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	w := p.idle[0]
	p.mu.Unlock()
	select {
	case <-w.dead:
	case <-time.After(30 * time.Second):
		t.Fatal("the idle worker did not exit")
	}
	if _, err := invoke(t, p, "idle", `function onRequest() {}`, "onRequest", nil, `{}`); err != nil {
		t.Fatalf("after the idle exit: %v", err)
	}
}

func TestMoreInvocationsThanWorkers(t *testing.T) {
	p := newTestPool(t, PoolConfig{Workers: 2})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			res, err := invoke(t, p, "many", `function onRequest(req) { return req.n * 2; }`, "onRequest", nil, `{"n":4}`)
			if err == nil && string(res.Value) != "8" {
				t.Errorf("got %s", res.Value)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	p.mu.Lock()
	n := len(p.all)
	p.mu.Unlock()
	if n > 2 {
		t.Fatalf("%d workers for a pool of 2", n)
	}
}

func TestClose(t *testing.T) {
	p := NewPool(PoolConfig{Workers: 1})
	if _, err := invoke(t, p, "close", `function onRequest() {}`, "onRequest", nil, `{}`); err != nil {
		t.Fatal(err)
	}
	p.Close()
	if _, err := invoke(t, p, "close", `function onRequest() {}`, "onRequest", nil, `{}`); err == nil {
		t.Fatal("an invocation on a closed pool worked")
	}
}
