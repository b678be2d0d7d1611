package functions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/backpackhq/backpack/core"
	"github.com/backpackhq/backpack/tools/jsfunc"
)

// The handler a request runs.
const handlerRequest = "onRequest"

// Request is what onRequest receives as req.
type Request struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Query   map[string]string `json:"query"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

// Call runs a function's onRequest for a caller and returns what it returned, as JSON (the edge
// makes an answer of it, see Answer).
func (r *Runtime) Call(ctx context.Context, name string, req Request, who core.Caller) (json.RawMessage, error) {
	fn, ok := r.lookup(name)
	if !ok || !hasHandler(fn, handlerRequest) {
		return nil, core.ErrFunctionNotFound
	}
	arg, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	return r.invoke(ctx, fn, handlerRequest, who, arg)
}

func hasHandler(fn core.Function, handler string) bool {
	for _, h := range fn.Handlers {
		if h == handler {
			return true
		}
	}
	return false
}

// invoke runs one handler of one version of a function for a caller: its logs and its outcome
// are recorded, and what went wrong becomes the contract's error.
func (r *Runtime) invoke(ctx context.Context, fn core.Function, handler string, who core.Caller, args ...json.RawMessage) (json.RawMessage, error) {
	user, err := r.user(ctx, who)
	if err != nil {
		return nil, err
	}
	var hosts []string
	if r.cfg.FetchHosts != nil {
		hosts = r.cfg.FetchHosts()
	}
	h := &host{r: r, fn: fn, who: who}
	timeout := time.Duration(fn.TimeoutMS) * time.Millisecond
	start := time.Now()
	res, err := r.cfg.Pool.Invoke(ctx, jsfunc.Invocation{
		Key: codeKey(r.data.Incarnation(), fn), Source: fn.Source,
		Handler: handler, Args: args, User: user, Env: fn.Env, Timeout: timeout, FetchHosts: hosts, Host: h,
	})
	outcome, err := r.outcome(fn, timeout, err)
	if r.cfg.Observe != nil {
		r.cfg.Observe(fn.Name, outcome, time.Since(start))
	}
	if err != nil {
		return nil, err
	}
	return res.Value, nil
}

// codeKey names one version's code in the workers' caches. A function deleted and deployed
// again starts at version 1 again: its creation tells the two apart, so no worker runs the old
// code under the new function.
func codeKey(incarnation string, fn core.Function) string {
	return fmt.Sprintf("%s/%s/%s@%d", incarnation, fn.Name, fn.CreatedAt, fn.Version)
}

// user is ctx.user for a caller: null for the operator and anonymous callers.
func (r *Runtime) user(ctx context.Context, who core.Caller) (*jsfunc.User, error) {
	if who.Admin || who.UserID == "" {
		return nil, nil
	}
	u, err := r.data.UserByID(ctx, who.UserID)
	if errors.Is(err, core.ErrNoUser) {
		return nil, core.ErrNotSignedIn
	}
	if err != nil {
		return nil, err
	}
	return &jsfunc.User{ID: who.UserID, Email: u.Email}, nil
}

// errorCode is what a function's HttpError may use as its code: what the contract's own look
// like, so clients can switch on it.
var errorCode = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// outcome names how an invocation ended, for metrics, and turns its failure into the answer's
// error. The pool has already logged a failure's cause (a stack, the thrown message) to the
// function's logs; the caller is told only what kind of failure it was.
func (r *Runtime) outcome(fn core.Function, timeout time.Duration, err error) (string, error) {
	var httpErr *jsfunc.HTTPError
	switch {
	case err == nil:
		return "ok", nil
	case errors.As(err, &httpErr):
		status, code := httpErr.Status, httpErr.Code
		if status < 400 || status > 599 {
			status = 500
		}
		if !errorCode.MatchString(code) {
			code = "function_error"
		}
		return "http_error", core.FunctionError(status, code, httpErr.Message)
	case errors.As(err, new(*jsfunc.ThrownError)):
		return "error", core.FunctionError(500, "function_error", "the function failed; its logs say why")
	case errors.Is(err, jsfunc.ErrTimeout):
		return "timeout", core.FunctionError(504, "function_timeout", fmt.Sprintf("the function ran longer than its time limit (%s)", timeout))
	case errors.Is(err, jsfunc.ErrMemory):
		return "memory", core.FunctionError(500, "function_out_of_memory", "the function used more memory than a function may")
	case errors.Is(err, jsfunc.ErrCrashed):
		return "crashed", core.FunctionError(500, "function_crashed", "the function's worker crashed; the next call starts a new one")
	case errors.Is(err, jsfunc.ErrTooDeep):
		return "recursion", core.FunctionError(508, "function_recursion",
			fmt.Sprintf("hooks fired by functions' own writes nest deeper than %d; a hook writing to its own collection should stop itself", jsfunc.MaxDepth))
	}
	var ce *core.Error
	if errors.As(err, &ce) {
		return "error", err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return "canceled", err
	}
	return "error", fmt.Errorf("run function %s: %w", fn.Name, err)
}
