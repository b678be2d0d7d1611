package mongostore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/backpackhq/backpack/internal/testenv"
	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/docstore/mongostore"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// openFerret is a fresh store on an in-process FerretDB, the stand-in for mongo:7.
func openFerret(t *testing.T) docstore.Store {
	t.Helper()
	s, err := mongostore.Connect(context.Background(), testenv.FerretDB(t), "test", docstore.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// TestDuplicatesNameTheirIndex checks the mapping the API's 409 answers rely on: a taken _id
// and a value a unique index holds are told apart, the latter with the index's fields.
func TestDuplicatesNameTheirIndex(t *testing.T) {
	ctx := context.Background()
	c := openFerret(t).Collection("users")
	if err := c.CreateIndex(ctx, docstore.Index{Fields: []string{"email"}, Unique: true}); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateIndex(ctx, docstore.Index{Fields: []string{"email"}, Unique: true}); !errors.Is(err, docstore.ErrIndexExists) {
		t.Fatalf("second create: %v, want ErrIndexExists", err)
	}
	id := bson.NewObjectID()
	if err := c.Insert(ctx, bson.D{{Key: "_id", Value: id}, {Key: "email", Value: "a@x"}}); err != nil {
		t.Fatal(err)
	}
	var dup *docstore.DuplicateError
	err := c.Insert(ctx, bson.D{{Key: "_id", Value: id}, {Key: "email", Value: "b@x"}})
	if !errors.As(err, &dup) || dup.Index != "_id" {
		t.Fatalf("same _id: %v, want a duplicate on _id", err)
	}
	err = c.Insert(ctx, bson.D{{Key: "_id", Value: bson.NewObjectID()}, {Key: "email", Value: "a@x"}})
	if !errors.As(err, &dup) || dup.Index != "email_1" || len(dup.Fields) != 1 || dup.Fields[0] != "email" {
		t.Fatalf("same email: %v, want a duplicate on email_1", err)
	}
	idx, err := c.ListIndexes(ctx)
	if err != nil || len(idx) != 1 || idx[0].Name != "email_1" || !idx[0].Unique {
		t.Fatalf("indexes: %+v, %v", idx, err)
	}
	if err := c.DropIndex(ctx, "email_1"); err != nil {
		t.Fatal(err)
	}
	if err := c.DropIndex(ctx, "email_1"); !errors.Is(err, docstore.ErrIndexNotFound) {
		t.Fatalf("second drop: %v, want ErrIndexNotFound", err)
	}
	if _, err := c.Delete(ctx, bson.D{{Key: "_id", Value: bson.NewObjectID()}}); !errors.Is(err, docstore.ErrNotFound) {
		t.Fatalf("delete of nothing: %v, want ErrNotFound", err)
	}
}
