package core

import (
	"context"
	"errors"

	"github.com/backpackhq/backpack/tools/docstore"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// findOne decodes the first document matching filter (in opts.Sort's order) into v, a pointer
// to a struct; docstore.ErrNotFound when none matches.
func findOne(ctx context.Context, coll docstore.Collection, filter bson.D, opts docstore.FindOptions, v any) error {
	doc, err := coll.FindOne(ctx, filter, opts)
	if err != nil {
		return err
	}
	return docstore.Decode(doc, v)
}

// findAll decodes every document matching filter, as opts shapes the list.
func findAll[T any](ctx context.Context, coll docstore.Collection, filter bson.D, opts docstore.FindOptions) ([]T, error) {
	docs, err := coll.Find(ctx, filter, opts)
	if err != nil {
		return nil, err
	}
	out := make([]T, len(docs))
	for i, d := range docs {
		if err := docstore.Decode(d, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// insertValue stores v, a struct with bson tags and an _id, as a new document.
func insertValue(ctx context.Context, coll docstore.Collection, v any) error {
	doc, err := docstore.Encode(v)
	if err != nil {
		return err
	}
	return coll.Insert(ctx, doc)
}

// lookupField returns a top-level field's value and whether the document has the field.
func lookupField(doc bson.D, key string) (any, bool) {
	for _, e := range doc {
		if e.Key == key {
			return e.Value, true
		}
	}
	return nil, false
}

// ensureIndex creates an index the API relies on; one already there under its name is kept.
func ensureIndex(ctx context.Context, coll docstore.Collection, idx docstore.Index) error {
	if err := coll.CreateIndex(ctx, idx); err != nil && !errors.Is(err, docstore.ErrIndexExists) {
		return err
	}
	return nil
}
