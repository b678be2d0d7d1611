package core

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Write operations a hook is told of.
const (
	HookCreate = "create"
	HookUpdate = "update"
	HookDelete = "delete"
)

// HookWrite is one write as a hook sees it: Doc is the document to store (nil for a delete),
// Old the stored one (nil for a create). For a patch, Doc is the whole document as it will be,
// so a hook sees the same thing whichever way the document was changed.
type HookWrite struct {
	Op         string
	Collection string
	Doc        bson.D
	Old        bson.D
	Caller     Caller
}

// WriteHooks run a backend's functions inside its write path (package functions implements
// them). Before runs ahead of the write and may return the document to store instead, or refuse
// the write with its error; After runs once the write is committed and cannot fail it. Wants
// lets a write skip what hooks cost (reading the old document) when no hook is deployed.
type WriteHooks interface {
	Wants(collection, op string, before bool) bool
	Before(ctx context.Context, w HookWrite) (bson.D, error)
	After(ctx context.Context, w HookWrite)
}

// SetHooks installs the functions' hooks; until then, and with nil, writes run none.
func (s *Service) SetHooks(h WriteHooks) { s.hooks = h }

func (d Documents) wants(op string, before bool) bool {
	return d.s.hooks != nil && d.s.hooks.Wants(d.info.Name, op, before)
}

// before runs the before hook of op if one is deployed, and returns the document to store.
func (d Documents) before(ctx context.Context, op string, doc, old bson.D) (bson.D, error) {
	if !d.wants(op, true) {
		return doc, nil
	}
	out, err := d.s.hooks.Before(ctx, HookWrite{Op: op, Collection: d.info.Name, Doc: doc, Old: old, Caller: d.who})
	if err != nil {
		return nil, err
	}
	if op != HookDelete {
		out = clientFields(out)
		if err := checkClientDocument(out, d.s.cfg.DocumentLimits); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// after runs the after hook of op if one is deployed. The write is done: the hook outlives a
// client that has gone, and what it returns or throws only reaches the function's logs.
func (d Documents) after(ctx context.Context, op string, doc, old bson.D) {
	if d.wants(op, false) {
		d.s.hooks.After(context.WithoutCancel(ctx), HookWrite{Op: op, Collection: d.info.Name, Doc: doc, Old: old, Caller: d.who})
	}
}

// clientFields drops the server's fields (_id, _owner, _createdAt, _updatedAt) a hook may
// return with the document it was given: they are the server's to set.
func clientFields(doc bson.D) bson.D {
	out := make(bson.D, 0, len(doc))
	for _, e := range doc {
		if !serverFields[e.Key] {
			out = append(out, e)
		}
	}
	return out
}
