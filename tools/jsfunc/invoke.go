package jsfunc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// hardDeadlineGrace is how long past its Timeout the API side waits before it kills the worker
// (the worker interrupts the code itself at Timeout; this catches code stuck outside JS).
const hardDeadlineGrace = 2 * time.Second

// genericDBError is what the JS code sees for a Host error that is not an *HTTPError.
const genericDBError = "the database call failed"

// leaseKey is the context key of the worker an invocation runs on, for nested invocations.
type leaseKey struct{}

// lease is the worker of an outer invocation and the depth of the invocation holding it.
type lease struct {
	w     *proc
	depth int
}

// Invoke runs one handler. Called with the ctx that Host.DB received, it runs nested on the same
// worker. Failures are the package's error types (*HTTPError, *ThrownError, *SyntaxError,
// ErrTimeout, ...); each failure but an *HTTPError is also logged to the Host at level "error".
func (p *Pool) Invoke(ctx context.Context, inv Invocation) (Result, error) {
	if !slices.Contains(handlerNames, inv.Handler) {
		return Result{}, fmt.Errorf("jsfunc: %q is not a function handler", inv.Handler)
	}
	m := &message{T: frameInvoke, Key: inv.Key, Source: inv.Source, Handler: inv.Handler, Args: inv.Args,
		User: inv.User, Env: inv.Env, FetchHosts: inv.FetchHosts}
	res, err := p.run(ctx, m, inv.Timeout, inv.Host)
	if err != nil {
		logFailure(inv.Host, err)
		return Result{}, err
	}
	if len(res.Value) == 0 {
		res.Value = json.RawMessage("null")
	}
	return Result{Value: res.Value}, nil
}

// Load runs the source's top level on a worker (within timeout; zero means 5 s) and reports which
// contract handlers it defines (onRequest, beforeCreate, beforeUpdate, beforeDelete,
// afterCreate, afterUpdate, afterDelete), in that order. A syntax error is a *SyntaxError, a
// throw at the top level a *ThrownError (or *HTTPError).
func (p *Pool) Load(ctx context.Context, key, source string, timeout time.Duration) ([]string, error) {
	res, err := p.run(ctx, &message{T: frameInvoke, Key: key, Source: source, Load: true}, timeout, nil)
	if err != nil {
		return nil, err
	}
	return res.Handlers, nil
}

// logFailure tells the function's logs why an invocation failed (a chosen HttpError is an
// answer, not a failure).
func logFailure(host Host, err error) {
	var he *HTTPError
	if host == nil || errors.As(err, &he) {
		return
	}
	msg := err.Error()
	var te *ThrownError
	if errors.As(err, &te) && te.Stack != "" {
		msg = te.Message + "\n" + te.Stack
	}
	host.Log(LogEntry{Time: time.Now(), Level: "error", Message: msg})
}

// run sends one invoke frame to a worker (the lease's, when ctx carries one) and serves its
// db calls and logs until the result.
func (p *Pool) run(ctx context.Context, m *message, timeout time.Duration, host Host) (*message, error) {
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	m.TimeoutMS = timeout.Milliseconds()
	if l, ok := ctx.Value(leaseKey{}).(*lease); ok {
		if l.depth >= MaxDepth {
			return nil, ErrTooDeep
		}
		return p.exchange(ctx, l.w, l.depth+1, m, timeout, host)
	}
	w, err := p.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer p.release(w)
	w.memFlag.Store(false)
	return p.exchange(ctx, w, 0, m, timeout, host)
}

// exchange runs one invocation on w; depth is its nesting depth. Past its hard deadline (the
// timeout plus a grace, or ctx's deadline if sooner) or when ctx ends, the worker is killed: the
// Host sees the invocation's ctx end too.
func (p *Pool) exchange(ctx context.Context, w *proc, depth int, m *message, timeout time.Duration, host Host) (*message, error) {
	if err := ctx.Err(); err != nil {
		return nil, ctxError(ctx)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.isDead() {
		return nil, w.deathError()
	}
	ctx, cancel := context.WithTimeout(ctx, timeout+hardDeadlineGrace)
	defer cancel()
	stopKill := context.AfterFunc(ctx, func() { w.kill(ctxError(ctx)) })
	defer stopKill()

	source := m.Source
	if w.keys[m.Key] {
		m.Source = ""
	}
	if err := writeFrame(w.stdin, m); err != nil {
		return nil, w.fail()
	}
	if m.Source != "" {
		w.keys[m.Key] = true
	}
	for {
		in, err := readFrame(w.stdout)
		if err != nil {
			return nil, w.fail()
		}
		switch in.T {
		case frameLog:
			entry := LogEntry{Time: in.Time, Level: in.Level, Message: in.Text}
			if host != nil {
				host.Log(entry)
			} else {
				p.cfg.Logger.Info("function log", "key", m.Key, "level", entry.Level, "message", entry.Message)
			}
		case frameMemory:
			w.memFlag.Store(true)
		case frameDB:
			reply := p.serveDB(ctx, w, depth, in.Call, host)
			if err := writeFrame(w.stdin, reply); err != nil {
				return nil, w.fail()
			}
		case frameResult:
			if in.Err == nil {
				return in, nil
			}
			if in.Err.Kind == kindNeedSource && source != "" && m.Source == "" {
				delete(w.keys, m.Key)
				m.Source = source
				if err := writeFrame(w.stdin, m); err != nil {
					return nil, w.fail()
				}
				w.keys[m.Key] = true
				continue
			}
			return nil, in.Err.toError()
		default:
			w.kill(ErrCrashed)
			return nil, fmt.Errorf("jsfunc: unexpected %q frame from a worker: %w", in.T, ErrCrashed)
		}
	}
}

// serveDB runs one db call of an invocation at depth, letting nested invocations use the worker
// while the Host works.
func (p *Pool) serveDB(ctx context.Context, w *proc, depth int, call *DBCall, host Host) *message {
	if host == nil || call == nil {
		return &message{T: frameDBRes, Err: &wireError{Kind: kindGeneric, Message: genericDBError}}
	}
	w.mu.Unlock()
	value, err := host.DB(context.WithValue(ctx, leaseKey{}, &lease{w: w, depth: depth}), *call)
	w.mu.Lock()
	if err != nil {
		var he *HTTPError
		if errors.As(err, &he) {
			return &message{T: frameDBRes, Err: &wireError{Kind: kindHTTP, Status: he.Status, Code: he.Code, Message: he.Message}}
		}
		return &message{T: frameDBRes, Err: &wireError{Kind: kindGeneric, Message: genericDBError}}
	}
	if len(value) == 0 {
		value = json.RawMessage("null")
	}
	if !json.Valid(value) {
		p.cfg.Logger.Error("function host returned invalid JSON for a db call", "op", call.Op, "collection", call.Collection)
		return &message{T: frameDBRes, Err: &wireError{Kind: kindGeneric, Message: genericDBError}}
	}
	return &message{T: frameDBRes, Value: value}
}

// fail ends a worker whose pipe broke and says what the invocation should report.
func (w *proc) fail() error {
	w.kill(nil)
	return w.deathError()
}
