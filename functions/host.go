package functions

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/backpackhq/backpack/core"
	"github.com/backpackhq/backpack/tools/filter"
	"github.com/backpackhq/backpack/tools/jsfunc"
	"github.com/backpackhq/backpack/tools/jsondoc"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Bounds of a function's ctx.db.find, the same as the HTTP listing's.
const (
	defaultFindLimit = 100
	maxFindLimit     = 1000
	maxFindSkip      = 1_000_000
)

// host is the app's side of one invocation: ctx.db runs under the caller's rules, ctx.admin.db
// under none, through the same service calls as the HTTP API, hooks included.
type host struct {
	r   *Runtime
	fn  core.Function
	who core.Caller
}

func (h *host) Log(e jsfunc.LogEntry) { h.r.logs.addAt(h.fn, e.Level, e.Message, e.Time) }

func (h *host) DB(ctx context.Context, call jsfunc.DBCall) (json.RawMessage, error) {
	out, err := h.db(ctx, call)
	if err != nil {
		status, code, msg := h.r.cfg.ErrorOf(err)
		return nil, &jsfunc.HTTPError{Status: status, Code: code, Message: msg}
	}
	b, err := jsondoc.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode %s result: %w", call.Op, err)
	}
	return b, nil
}

func (h *host) db(ctx context.Context, call jsfunc.DBCall) (any, error) {
	who := h.who
	if call.Admin {
		who = core.AdminCaller
	}
	write := call.Op != "find" && call.Op != "get"
	docs, err := h.r.data.Documents(ctx, call.Collection, who, write)
	if err != nil {
		return nil, err
	}
	lim := h.r.data.DocumentLimits()
	switch call.Op {
	case "find":
		q, err := findQuery(call)
		if err != nil {
			return nil, err
		}
		found, _, err := docs.Find(ctx, q)
		return found, err
	case "create":
		doc, err := jsondoc.DecodeObject(call.Doc, lim)
		if err != nil {
			return nil, err
		}
		return docs.Create(ctx, doc)
	}
	id, err := bson.ObjectIDFromHex(call.ID)
	if err != nil {
		return nil, core.FunctionError(400, "invalid_id", "document ids are 24 hexadecimal characters")
	}
	switch call.Op {
	case "get":
		return docs.Get(ctx, id)
	case "delete":
		return docs.Delete(ctx, id)
	case "update", "replace":
		doc, err := jsondoc.DecodeObject(call.Doc, lim)
		if err != nil {
			return nil, err
		}
		if call.Op == "update" {
			return docs.Patch(ctx, id, doc)
		}
		return docs.Replace(ctx, id, doc)
	}
	return nil, core.FunctionError(400, "invalid_request", fmt.Sprintf("ctx.db has no %q", call.Op))
}

// findOptions are find's third argument, as the HTTP listing's parameters.
type findOptions struct {
	Sort  string `json:"sort"`
	Limit *int64 `json:"limit"`
	Skip  int64  `json:"skip"`
}

func findQuery(call jsfunc.DBCall) (core.Query, error) {
	q := core.Query{Limit: defaultFindLimit}
	var err error
	if len(call.Filter) > 0 && string(call.Filter) != "null" {
		if q.Filter, err = filter.Parse(string(call.Filter)); err != nil {
			return q, err
		}
	} else {
		q.Filter = bson.D{}
	}
	var o findOptions
	if len(call.Options) > 0 && string(call.Options) != "null" {
		if err := json.Unmarshal(call.Options, &o); err != nil {
			return q, core.FunctionError(400, "invalid_query", "find's options are {sort: '-field,other', limit, skip}")
		}
	}
	if q.Sort, err = filter.ParseSort(o.Sort); err != nil {
		return q, err
	}
	if o.Limit != nil {
		if *o.Limit < 1 || *o.Limit > maxFindLimit {
			return q, core.FunctionError(400, "invalid_query", fmt.Sprintf("limit must be from 1 to %d", maxFindLimit))
		}
		q.Limit = *o.Limit
	}
	if o.Skip < 0 || o.Skip > maxFindSkip {
		return q, core.FunctionError(400, "invalid_query", fmt.Sprintf("skip must be from 0 to %d", maxFindSkip))
	}
	q.Skip = o.Skip
	return q, nil
}
