package core

import (
	"errors"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/backpackhq/backpack/internal/teststore"
	"github.com/backpackhq/backpack/tools/docstore"
)

// TestDocBatchWritesWhenFull checks that a batch is written at restoreBatchDocs documents or
// restoreBatchBytes of Extended JSON, whichever comes first, and that flush writes the rest.
func TestDocBatchWritesWhenFull(t *testing.T) {
	coll := teststore.New(t).Collection("things")
	b := &docBatch{coll: coll}
	stored := func(want int64) {
		t.Helper()
		if n, err := coll.Count(t.Context(), bson.D{}); err != nil || n != want {
			t.Fatalf("stored %d, %v; want %d", n, err, want)
		}
	}
	add := func(i, size int) {
		t.Helper()
		if err := b.add(t.Context(), bson.D{{Key: "_id", Value: int32(i)}}, i, size); err != nil {
			t.Fatalf("add line %d: %v", i, err)
		}
	}
	for i := 1; i < restoreBatchDocs; i++ {
		add(i, 10)
	}
	stored(0)
	add(restoreBatchDocs, 10)
	stored(restoreBatchDocs)
	add(restoreBatchDocs+1, restoreBatchBytes/2)
	stored(restoreBatchDocs)
	add(restoreBatchDocs+2, restoreBatchBytes/2)
	stored(restoreBatchDocs + 2)
	add(restoreBatchDocs+3, 10)
	if err := b.flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	stored(restoreBatchDocs + 3)
	if err := b.flush(t.Context()); err != nil {
		t.Fatalf("flush an empty batch: %v", err)
	}
	stored(restoreBatchDocs + 3)
}

// TestDocBatchNamesTheRepeatingLine checks that a batch refused for a repeated _id names the
// line of the document that repeats it, and for a unique index its fields.
func TestDocBatchNamesTheRepeatingLine(t *testing.T) {
	coll := teststore.New(t).Collection("things")
	if err := coll.CreateIndex(t.Context(), docstore.Index{Fields: []string{"email"}, Unique: true}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		docs   []bson.D
		reason string
	}{
		{"id", []bson.D{
			{{Key: "_id", Value: "a"}, {Key: "email", Value: "a@x"}},
			{{Key: "_id", Value: "b"}, {Key: "email", Value: "b@x"}},
			{{Key: "_id", Value: "a"}, {Key: "email", Value: "c@x"}},
		}, "line 12: its _id repeats an earlier one's"},
		{"unique index", []bson.D{
			{{Key: "_id", Value: "d"}, {Key: "email", Value: "d@x"}},
			{{Key: "_id", Value: "e"}, {Key: "email", Value: "d@x"}},
		}, "line 11: its email repeats an earlier one's"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := coll.DeleteMany(t.Context(), bson.D{}); err != nil {
				t.Fatal(err)
			}
			b := &docBatch{coll: coll}
			for i, d := range tc.docs {
				if err := b.add(t.Context(), d, 10+i, 10); err != nil {
					t.Fatalf("add: %v", err)
				}
			}
			err := lineError("documents/things.jsonl", 0, b.flush(t.Context()))
			var refusal *Error
			if !errors.As(err, &refusal) || refusal.Code != "invalid_backup" || refusal.Details["entry"] != "documents/things.jsonl" {
				t.Fatalf("flush: %v, want invalid_backup naming the entry", err)
			}
			if reason, _ := refusal.Details["reason"].(string); !strings.Contains(reason, tc.reason) {
				t.Errorf("reason %q, want %q", reason, tc.reason)
			}
		})
	}
}
