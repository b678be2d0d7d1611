package jsfunc

import (
	"errors"
	"fmt"
)

// SyntaxError is a source that does not compile; Line and Column (from 1) say where, when known,
// so that a deploy can point the developer at the mistake.
type SyntaxError struct {
	Line, Column int
	Message      string
}

func (e *SyntaxError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("syntax error at line %d, column %d: %s", e.Line, e.Column, e.Message)
	}
	return "syntax error: " + e.Message
}

// HTTPError is a thrown ctx.HttpError (or a Host error passed through the JS code uncaught): the
// function chose the answer's status (400 to 599; anything else becomes 500), code and message.
type HTTPError struct {
	Status        int
	Code, Message string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("http error %d %s: %s", e.Status, e.Code, e.Message)
}

// ThrownError is any other exception that escaped the handler (including "Maximum call stack
// size exceeded", a rejected promise and a promise that never settled). Stack is goja's stack
// trace, for the function's logs only: it must never be sent to clients.
type ThrownError struct {
	Message, Stack string
}

func (e *ThrownError) Error() string { return "function threw: " + e.Message }

var (
	// ErrTimeout is an invocation that ran over its Timeout (or its context's deadline).
	ErrTimeout = errors.New("jsfunc: function timed out")
	// ErrMemory is an invocation that used more JS heap than the pool's MemoryLimit.
	ErrMemory = errors.New("jsfunc: function ran out of memory")
	// ErrCrashed is an invocation whose worker process died under it (an escaped panic, a fatal
	// runtime error, a kill); the pool replaces the worker.
	ErrCrashed = errors.New("jsfunc: function worker crashed")
	// ErrTooDeep is a nested invocation (a hook fired by a ctx.db call) deeper than MaxDepth: it
	// is refused without running, which stops hooks that trigger each other forever.
	ErrTooDeep = errors.New("jsfunc: nested function invocations too deep")
)

// errPoolClosed is returned by calls on a closed Pool.
var errPoolClosed = errors.New("jsfunc: pool closed")
