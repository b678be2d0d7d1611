package jsfunc

import (
	"encoding/json"
	"reflect"
	"strings"

	"github.com/dop251/goja"
)

// dbOps are the ctx.db methods with where their arguments go.
var dbOps = []string{"find", "get", "create", "update", "replace", "delete"}

// newCtx builds the ctx argument of one invocation. Its functions refuse to work once the
// invocation has finished, so a ctx kept in a global cannot act for a later invocation.
func (rt *jsRuntime) newCtx(inv *invState, m *message) *goja.Object {
	vm := rt.vm
	ctx := vm.NewObject()
	user := goja.Null()
	if m.User != nil {
		u := vm.NewObject()
		_ = u.Set("id", m.User.ID)
		_ = u.Set("email", m.User.Email)
		user = u
	}
	env := vm.NewObject()
	for k, v := range m.Env {
		_ = env.Set(k, v)
	}
	admin := vm.NewObject()
	_ = admin.Set("db", rt.dbObject(inv, true))
	_ = ctx.Set("user", user)
	_ = ctx.Set("env", env)
	_ = ctx.Set("db", rt.dbObject(inv, false))
	_ = ctx.Set("admin", admin)
	_ = ctx.Set("log", rt.logFunc(func() *invState { return inv }, "info"))
	_ = ctx.Set("fetch", rt.fetchFunc(inv))
	_ = ctx.Set("HttpError", rt.httpError)
	return ctx
}

// checkLive throws if inv has finished.
func (rt *jsRuntime) checkLive(inv *invState) {
	if inv == nil || inv.done {
		panic(rt.vm.NewTypeError("this ctx belongs to an invocation that has finished"))
	}
}

// dbObject builds ctx.db (or ctx.admin.db): synchronous calls to the Host over the pipe.
func (rt *jsRuntime) dbObject(inv *invState, admin bool) *goja.Object {
	db := rt.vm.NewObject()
	for _, op := range dbOps {
		_ = db.Set(op, func(c goja.FunctionCall) goja.Value {
			rt.checkLive(inv)
			return rt.dbCall(inv, rt.dbCallOf(op, admin, c))
		})
	}
	return db
}

// dbCallOf reads the arguments of one ctx.db call.
func (rt *jsRuntime) dbCallOf(op string, admin bool, c goja.FunctionCall) *DBCall {
	coll := c.Argument(0)
	if !isString(coll) || coll.String() == "" {
		panic(rt.vm.NewTypeError("ctx.db.%s: the collection must be a non-empty string", op))
	}
	call := &DBCall{Admin: admin, Op: op, Collection: coll.String()}
	switch op {
	case "find":
		call.Filter = rt.argJSON(c.Argument(1))
		call.Options = rt.argJSON(c.Argument(2))
	case "create":
		call.Doc = rt.argJSON(c.Argument(1))
	default:
		id := c.Argument(1)
		if goja.IsUndefined(id) || goja.IsNull(id) {
			panic(rt.vm.NewTypeError("ctx.db.%s: an id is required", op))
		}
		call.ID = id.String()
		if op == "update" || op == "replace" {
			call.Doc = rt.argJSON(c.Argument(2))
		}
	}
	return call
}

// argJSON is an argument as JSON; nothing for undefined.
func (rt *jsRuntime) argJSON(v goja.Value) json.RawMessage {
	if goja.IsUndefined(v) {
		return nil
	}
	s, err := rt.stringify(goja.Undefined(), v)
	if err != nil {
		panic(err)
	}
	if goja.IsUndefined(s) {
		return nil
	}
	return json.RawMessage(s.String())
}

// dbCall sends a call to the Host and returns its answer as a plain value, or throws: an
// HttpError for an *HTTPError of the Host, a plain Error otherwise.
func (rt *jsRuntime) dbCall(inv *invState, call *DBCall) goja.Value {
	reply := inv.w.dbCall(call)
	if reply.Err != nil {
		if reply.Err.Kind == kindHTTP {
			obj, err := rt.vm.New(rt.httpError, rt.vm.ToValue(reply.Err.Status), rt.vm.ToValue(reply.Err.Code), rt.vm.ToValue(reply.Err.Message))
			if err != nil {
				panic(err)
			}
			panic(obj)
		}
		obj, err := rt.vm.New(rt.errorCtor, rt.vm.ToValue(reply.Err.Message))
		if err != nil {
			panic(err)
		}
		panic(obj)
	}
	return rt.fromJSON(reply.Value)
}

// logFunc builds a console/ctx log function that writes to the invocation current returns.
func (rt *jsRuntime) logFunc(current func() *invState, level string) func(goja.FunctionCall) goja.Value {
	return func(c goja.FunctionCall) goja.Value {
		inv := current()
		rt.checkLive(inv)
		parts := make([]string, len(c.Arguments))
		for i, a := range c.Arguments {
			parts[i] = rt.format(a)
		}
		inv.log(level, strings.Join(parts, " "))
		return goja.Undefined()
	}
}

// format shows one log argument like Node: strings as they are, errors with their stack,
// other values as JSON.
func (rt *jsRuntime) format(v goja.Value) string {
	if goja.IsUndefined(v) {
		return "undefined"
	}
	if isString(v) {
		return v.String()
	}
	if o, ok := v.(*goja.Object); ok && rt.vm.InstanceOf(o, rt.errorCtor) {
		if s := o.Get("stack"); s != nil && !goja.IsUndefined(s) {
			return s.String()
		}
		return o.String()
	}
	if s, err := rt.stringify(goja.Undefined(), v); err == nil && !goja.IsUndefined(s) {
		return s.String()
	}
	return v.String()
}

// stringType is what goja exports a string as.
var stringType = reflect.TypeOf("")

// isString reports whether v is a JS string (without converting objects).
func isString(v goja.Value) bool {
	_, isObj := v.(*goja.Object)
	return !isObj && v.ExportType() == stringType
}
