package jsfunc

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/dop251/goja"
)

// maxCallStack bounds JS call depth, so runaway recursion is an exception, not a crash.
const maxCallStack = 2000

// neverSettled is the message of a handler whose promise was still pending at the end.
const neverSettled = "the handler's promise never settled (there is no event loop: await only ctx calls)"

// prelude defines HttpError and hands the runtime's pristine built-ins to Go before user code
// can replace them.
var prelude = goja.MustCompile("prelude.js", `(function () {
	class HttpError extends Error {
		constructor(status, code, message) {
			super(message === undefined ? String(code === undefined ? 'error' : code) : String(message));
			this.name = 'HttpError';
			this.status = status;
			this.code = code === undefined ? '' : String(code);
		}
	}
	Object.defineProperty(globalThis, 'HttpError', {value: HttpError, writable: true, configurable: true});
	return {HttpError: HttpError, Error: Error, stringify: JSON.stringify, parse: JSON.parse};
})()`, true)

// promiseType is what goja exports a Promise as.
var promiseType = reflect.TypeOf((*goja.Promise)(nil))

// jsRuntime is one goja runtime with the handles the worker needs.
type jsRuntime struct {
	vm        *goja.Runtime
	httpError *goja.Object
	errorCtor *goja.Object
	stringify goja.Callable
	parse     goja.Callable
	inv       *invState // the invocation running, for console
	broken    bool      // interrupted or panicked: never reuse
}

// newJSRuntime makes a runtime with the globals every function sees (HttpError, console).
func newJSRuntime() (*jsRuntime, error) {
	vm := goja.New()
	vm.SetMaxCallStackSize(maxCallStack)
	v, err := vm.RunProgram(prelude)
	if err != nil {
		return nil, fmt.Errorf("prepare the function runtime: %w", err)
	}
	o := v.ToObject(vm)
	rt := &jsRuntime{vm: vm, httpError: o.Get("HttpError").ToObject(vm), errorCtor: o.Get("Error").ToObject(vm)}
	rt.stringify, _ = goja.AssertFunction(o.Get("stringify"))
	rt.parse, _ = goja.AssertFunction(o.Get("parse"))
	console := vm.NewObject()
	for name, level := range map[string]string{"log": "info", "info": "info", "debug": "info", "warn": "error", "error": "error"} {
		if err := console.Set(name, rt.logFunc(func() *invState { return rt.inv }, level)); err != nil {
			return nil, fmt.Errorf("prepare console.%s: %w", name, err)
		}
	}
	if err := vm.Set("console", console); err != nil {
		return nil, fmt.Errorf("prepare console: %w", err)
	}
	return rt, nil
}

// execute runs prog's top level (when given) and then the invocation's handler, or for a load
// lists the handlers, all within the invocation's time limit.
func (rt *jsRuntime) execute(inv *invState, prog *goja.Program, m *message) (res *message) {
	res = &message{T: frameResult}
	prev := rt.inv
	rt.inv = inv
	defer func() { rt.inv = prev }()
	inv.w.push(rt.vm)
	defer inv.w.pop()
	timer := time.AfterFunc(time.Until(inv.deadline), func() {
		inv.fetch.cancel()
		rt.vm.Interrupt(timeoutMarker)
	})
	defer func() {
		if !timer.Stop() {
			rt.broken = true
		}
	}()
	defer func() {
		if x := recover(); x != nil {
			rt.broken = true
			res = &message{T: frameResult, Err: rt.panicToWire(x)}
		}
	}()
	if prog != nil {
		if _, err := rt.vm.RunProgram(prog); err != nil {
			rt.broken = true
			res.Err = rt.errToWire(err)
			return res
		}
	}
	if m.Load {
		res.Handlers = []string{}
		for _, name := range handlerNames {
			if _, ok := goja.AssertFunction(rt.vm.Get(name)); ok {
				res.Handlers = append(res.Handlers, name)
			}
		}
		return res
	}
	fn, ok := goja.AssertFunction(rt.vm.Get(m.Handler))
	if !ok {
		res.Err = &wireError{Kind: kindThrown, Message: "the function does not define " + m.Handler}
		return res
	}
	args := make([]goja.Value, 0, len(m.Args)+1)
	for _, raw := range m.Args {
		args = append(args, rt.fromJSON(raw))
	}
	args = append(args, rt.newCtx(inv, m))
	v, err := fn(goja.Undefined(), args...)
	if err == nil {
		v, err = rt.settle(v)
	}
	if err == nil {
		res.Value, err = rt.toJSON(v)
	}
	if err != nil {
		res.Value, res.Err = nil, rt.errToWire(err)
	}
	return res
}

// settle unwraps a promise the handler returned; by now goja has run every job it could.
func (rt *jsRuntime) settle(v goja.Value) (goja.Value, error) {
	o, ok := v.(*goja.Object)
	if !ok || o.ExportType() != promiseType {
		return v, nil
	}
	p := o.Export().(*goja.Promise)
	switch p.State() {
	case goja.PromiseStateFulfilled:
		return p.Result(), nil
	case goja.PromiseStateRejected:
		return nil, &rejection{value: p.Result()}
	default:
		return nil, &ThrownError{Message: neverSettled}
	}
}

// rejection is a promise rejected with value.
type rejection struct{ value goja.Value }

func (r *rejection) Error() string { return "promise rejected" }

// fromJSON turns JSON from the API side into a JS value (undefined when empty).
func (rt *jsRuntime) fromJSON(raw json.RawMessage) goja.Value {
	if len(raw) == 0 {
		return goja.Undefined()
	}
	v, err := rt.parse(goja.Undefined(), rt.vm.ToValue(string(raw)))
	if err != nil {
		panic(rt.vm.NewTypeError("invalid JSON from the host: %v", err))
	}
	return v
}

// toJSON is JSON.stringify(v), with undefined (and functions) as null.
func (rt *jsRuntime) toJSON(v goja.Value) (json.RawMessage, error) {
	s, err := rt.stringify(goja.Undefined(), v)
	if err != nil {
		return nil, err
	}
	if goja.IsUndefined(s) {
		return json.RawMessage("null"), nil
	}
	return json.RawMessage(s.String()), nil
}

// errToWire turns what a call into goja returned into a wire error; an uncatchable one (time,
// memory, stack) makes the runtime unusable.
func (rt *jsRuntime) errToWire(err error) *wireError {
	var ie *goja.InterruptedError
	var so *goja.StackOverflowError
	var ex *goja.Exception
	var rj *rejection
	var te *ThrownError
	switch {
	case errors.As(err, &ie):
		rt.broken = true
		switch ie.Value() {
		case timeoutMarker:
			return &wireError{Kind: kindTimeout}
		case memoryMarker:
			return &wireError{Kind: kindMemory}
		}
		return &wireError{Kind: kindThrown, Message: fmt.Sprint(ie.Value()), Stack: ie.String()}
	case errors.As(err, &so):
		rt.broken = true
		return &wireError{Kind: kindThrown, Message: "RangeError: Maximum call stack size exceeded", Stack: so.String()}
	case errors.As(err, &ex):
		return rt.thrownToWire(ex.Value(), ex.String())
	case errors.As(err, &rj):
		return rt.thrownToWire(rj.value, "")
	case errors.As(err, &te):
		return &wireError{Kind: kindThrown, Message: te.Message, Stack: te.Stack}
	}
	return &wireError{Kind: kindThrown, Message: err.Error()}
}

// thrownToWire describes a thrown JS value: an HttpError keeps its status and code. Reading a
// hostile value can itself throw; then the description is generic.
func (rt *jsRuntime) thrownToWire(v goja.Value, stack string) (we *wireError) {
	defer func() {
		if x := recover(); x != nil {
			rt.broken = true
			we = &wireError{Kind: kindThrown, Message: "an exception that cannot be described", Stack: stack}
		}
	}()
	if o, ok := v.(*goja.Object); ok {
		if rt.vm.InstanceOf(o, rt.httpError) {
			status := int(valueOrUndefined(o.Get("status")).ToInteger())
			if status < 400 || status > 599 {
				status = 500
			}
			return &wireError{Kind: kindHTTP, Status: status, Code: valueOrUndefined(o.Get("code")).String(),
				Message: valueOrUndefined(o.Get("message")).String()}
		}
		if s := o.Get("stack"); stack == "" && s != nil && !goja.IsUndefined(s) {
			stack = s.String()
		}
	}
	return &wireError{Kind: kindThrown, Message: valueOrUndefined(v).String(), Stack: stack}
}

// valueOrUndefined maps goja's nil (a missing property) to undefined.
func valueOrUndefined(v goja.Value) goja.Value {
	if v == nil {
		return goja.Undefined()
	}
	return v
}

// panicToWire describes a panic that escaped goja (or a conversion of a hostile value).
func (rt *jsRuntime) panicToWire(x any) *wireError {
	switch e := x.(type) {
	case error:
		var ie *goja.InterruptedError
		var so *goja.StackOverflowError
		var ex *goja.Exception
		if errors.As(e, &ie) || errors.As(e, &so) || errors.As(e, &ex) {
			return rt.errToWire(e)
		}
	case goja.Value:
		return rt.thrownToWire(e, "")
	}
	return &wireError{Kind: kindThrown, Message: fmt.Sprintf("the function runtime failed: %v", x)}
}
