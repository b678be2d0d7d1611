package mongostore

import (
	"slices"
	"testing"

	"github.com/backpackhq/backpack/internal/testenv"
	"github.com/backpackhq/backpack/tools/docstore"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestStoredAsGiven checks the clean-up of an InsertMany whose answer does not say where it
// stopped: only documents stored exactly as the batch gives them count as its own, not a
// document of another content under one of its _ids.
func TestStoredAsGiven(t *testing.T) {
	db := testenv.MongoDatabase(t, testenv.FerretDB(t), "test")
	c := New(db, docstore.Limits{}).Collection("things").(*collection)
	stored := []bson.D{
		{{Key: "_id", Value: "mine"}, {Key: "n", Value: int32(1)}},
		{{Key: "n", Value: int32(2)}, {Key: "_id", Value: "late"}},
		{{Key: "_id", Value: "other"}, {Key: "n", Value: int32(3)}},
	}
	for _, d := range stored {
		if err := c.Insert(t.Context(), d); err != nil {
			t.Fatal(err)
		}
	}
	batch := []bson.D{
		stored[0],
		stored[1],
		{{Key: "_id", Value: "other"}, {Key: "n", Value: int64(3)}},
		{{Key: "_id", Value: "never"}},
	}
	ids, err := c.storedAsGiven(t.Context(), batch)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, id := range ids {
		got = append(got, id.(bson.RawValue).StringValue())
	}
	slices.Sort(got)
	if want := []string{"late", "mine"}; !slices.Equal(got, want) {
		t.Errorf("stored as given %q, want %q", got, want)
	}
	// The _ids found serve as InsertMany's clean-up uses them.
	if n, err := c.coll.DeleteMany(t.Context(), bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}); err != nil || n.DeletedCount != 2 {
		t.Errorf("delete them: %v, %v; want 2 deleted", n, err)
	}
}
