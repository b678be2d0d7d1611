package functions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/backpackhq/backpack/core"
	"github.com/backpackhq/backpack/tools/jsondoc"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// hookName is the handler a write runs: beforeCreate, afterUpdate, ...
func hookName(op string, before bool) string {
	prefix := "after"
	if before {
		prefix = "before"
	}
	switch op {
	case core.HookCreate:
		return prefix + "Create"
	case core.HookUpdate:
		return prefix + "Update"
	}
	return prefix + "Delete"
}

// hooked is the functions, by name, whose handler runs for a write on the collection.
func (r *Runtime) hooked(collection, handler string) []core.Function {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := r.hooks[hookKey{collection, handler}]
	out := make([]core.Function, 0, len(names))
	for _, n := range names {
		out = append(out, r.fns[n])
	}
	return out
}

// Wants tells core whether a write has hooks to run.
func (r *Runtime) Wants(collection, op string, before bool) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.hooks[hookKey{collection, hookName(op, before)}]) > 0
}

// hookArgs are a handler's arguments before ctx: (doc), (doc, old) or (old).
func hookArgs(w core.HookWrite) ([]json.RawMessage, error) {
	var docs []bson.D
	switch w.Op {
	case core.HookCreate:
		docs = []bson.D{w.Doc}
	case core.HookUpdate:
		docs = []bson.D{w.Doc, w.Old}
	default:
		docs = []bson.D{w.Old}
	}
	args := make([]json.RawMessage, len(docs))
	for i, d := range docs {
		b, err := jsondoc.Marshal(d)
		if err != nil {
			return nil, fmt.Errorf("encode hook argument: %w", err)
		}
		args[i] = b
	}
	return args, nil
}

// Before runs every function's before hook for the write, in the functions' name order, each
// given the document the previous one returned. One returning nothing keeps the document; one
// throwing refuses the write with its error.
func (r *Runtime) Before(ctx context.Context, w core.HookWrite) (bson.D, error) {
	handler := hookName(w.Op, true)
	for _, fn := range r.hooked(w.Collection, handler) {
		args, err := hookArgs(w)
		if err != nil {
			return nil, err
		}
		out, err := r.invoke(ctx, fn, handler, w.Caller, args...)
		if err != nil {
			return nil, err
		}
		if w.Op == core.HookDelete || string(out) == "null" {
			continue
		}
		doc, err := jsondoc.DecodeObject(out, r.data.DocumentLimits())
		if err != nil {
			r.logs.add(fn, "error", fmt.Sprintf("%s returned something that is not a document: %v", handler, err))
			return nil, core.FunctionError(500, "function_error", handler+" must return the document to store (an object), or nothing to keep it")
		}
		w.Doc = doc
	}
	return w.Doc, nil
}

// After runs every function's after hook for a committed write. Their failures only reach
// their logs (the pool logs crashes, throws and timeouts; an HttpError thrown is logged here,
// since nobody else sees it): the write stands.
func (r *Runtime) After(ctx context.Context, w core.HookWrite) {
	handler := hookName(w.Op, false)
	for _, fn := range r.hooked(w.Collection, handler) {
		args, err := hookArgs(w)
		if err == nil {
			_, err = r.invoke(ctx, fn, handler, w.Caller, args...)
		}
		var ce *core.Error
		if err != nil && (!errors.As(err, &ce) || !strings.HasPrefix(ce.Code, "function_")) {
			r.logs.add(fn, "error", fmt.Sprintf("%s failed: %v", handler, err))
		}
	}
}
