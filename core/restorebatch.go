package core

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/backpackhq/backpack/tools/docstore"
)

// A restore writes a collection's documents in batches, one InsertMany each, so that it does
// not pay a database write per document: a batch is written once it holds restoreBatchDocs
// documents or restoreBatchBytes of their Extended JSON, and the last one at the end of the
// entry.
const (
	restoreBatchDocs  = 500
	restoreBatchBytes = 4 << 20
)

// docBatch gathers documents of one collection with the line of the entry each came from.
type docBatch struct {
	coll  docstore.Collection
	docs  []bson.D
	lines []int
	size  int
}

// add queues doc, read from line n (size bytes of Extended JSON), and writes the batch once
// it is full.
func (b *docBatch) add(ctx context.Context, doc bson.D, n, size int) error {
	b.docs = append(b.docs, doc)
	b.lines = append(b.lines, n)
	b.size += size
	if len(b.docs) < restoreBatchDocs && b.size < restoreBatchBytes {
		return nil
	}
	return b.flush(ctx)
}

// flush writes the queued documents. The store refuses a batch whole when one of its
// documents repeats an _id or a unique index's values; the documents are then inserted one
// at a time to find the line that does (the restore fails and is undone either way). Errors
// name their line with atLine.
func (b *docBatch) flush(ctx context.Context) error {
	if len(b.docs) == 0 {
		return nil
	}
	docs, lines := b.docs, b.lines
	b.docs, b.lines, b.size = nil, nil, 0
	err := b.coll.InsertMany(ctx, docs)
	if err == nil {
		return nil
	}
	first, last := lines[0], lines[len(lines)-1]
	if !docstore.IsDuplicate(err) {
		return &atLine{n: first, err: fmt.Errorf("insert the documents of lines %d-%d: %w", first, last, err)}
	}
	for i, doc := range docs {
		if ierr := b.coll.Insert(ctx, doc); ierr != nil {
			return &atLine{n: lines[i], err: ierr}
		}
	}
	return &atLine{n: first, err: fmt.Errorf("the documents of lines %d-%d, refused together, were each accepted alone: %w", first, last, err)}
}

// atLine is the error of an earlier line of an entry than the one being read: a batch of
// documents is written once its last line is read.
type atLine struct {
	n   int
	err error
}

func (e *atLine) Error() string { return fmt.Sprintf("line %d: %v", e.n, e.err) }

func (e *atLine) Unwrap() error { return e.err }
