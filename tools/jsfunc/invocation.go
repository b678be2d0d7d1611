package jsfunc

import (
	"context"
	"encoding/json"
	"time"
)

// MaxDepth is how many invocations may nest inside an outer one (hooks fired by ctx.db calls
// that fire hooks...): the outer invocation is depth 0, and a nested one deeper than MaxDepth
// fails with ErrTooDeep.
const MaxDepth = 4

// defaultTimeout bounds an invocation whose Timeout is zero.
const defaultTimeout = 5 * time.Second

// handlerNames are the contract's handlers, in the order Load reports them.
var handlerNames = []string{"onRequest", "beforeCreate", "beforeUpdate", "beforeDelete", "afterCreate", "afterUpdate", "afterDelete"}

// User is the end user the invocation runs for, seen by the code as ctx.user.
type User struct {
	ID    string `json:"id"`
	Email string `json:"email"`
}

// Invocation is one call of one handler of one version of a function.
type Invocation struct {
	// Key identifies this exact source (e.g. "backendIncarnation/name@version"): workers cache
	// the compiled code and its runtime by it, so a new version needs a new Key.
	Key    string
	Source string
	// Handler is the contract handler to call: "onRequest", "beforeCreate", "afterUpdate", ...
	Handler string
	// Args are the handler's arguments before ctx (req; or doc; or doc, old; or old).
	Args []json.RawMessage
	// User is ctx.user (null when nil).
	User *User
	// Env is ctx.env.
	Env map[string]string
	// Timeout bounds the invocation; zero means 5 s.
	Timeout time.Duration
	// FetchHosts are the hosts ctx.fetch may reach: an entry matches a URL's host name or its
	// host:port, case-insensitively. Empty allows none.
	FetchHosts []string
	// Host serves ctx.db, ctx.admin.db and the logs.
	Host Host
}

// Host is the app's side of an invocation: ctx.db / ctx.admin.db calls and logs.
type Host interface {
	// DB runs one database call for the invocation; ctx is the invocation's (it carries the
	// worker, so a hook fired by this call can run nested on the same worker: pass ctx to
	// Invoke). An *HTTPError is shown to the JS code as a thrown ctx.HttpError (catchable); any
	// other error is thrown as a plain Error with a generic message.
	DB(ctx context.Context, call DBCall) (json.RawMessage, error)
	// Log receives console.log/ctx.log lines and the invocation's errors; it must not block for
	// long.
	Log(entry LogEntry)
}

// DBCall is one ctx.db or ctx.admin.db call, arguments as JSON.
type DBCall struct {
	Admin      bool            // ctx.admin.db rather than ctx.db
	Op         string          // find, get, create, update, replace, delete
	Collection string          //
	ID         string          `json:",omitempty"` // get, update, replace, delete
	Filter     json.RawMessage `json:",omitempty"` // find
	Options    json.RawMessage `json:",omitempty"` // find: {sort, limit, skip}
	Doc        json.RawMessage `json:",omitempty"` // create, update (the patch), replace
}

// LogEntry is one log line of an invocation.
type LogEntry struct {
	Time    time.Time
	Level   string // "info" or "error"
	Message string
}

// Result is what a handler returned.
type Result struct {
	// Value is the return value as JSON (JSON.stringify semantics); "null" for undefined.
	Value json.RawMessage
}
