package ferretimport

import (
	"context"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/embeddeddb"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// TestImportEveryType writes every BSON type FerretDB stores (and edge values of each) through
// a real FerretDB, reads them back through it, then decodes its file directly and imports it:
// the documents must be the same, value for value and type for type; a capped collection and a
// compound index with a descending field come across too. Documents FerretDB itself refuses
// (NaN, infinities, keys with '.' or '"') are left out, as no fixture can hold them. Binary data,
// regular expressions and timestamps, which no API stores, are decoded too; the sqlite engine
// refuses them with an error naming the document.
func TestImportEveryType(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	srv, err := embeddeddb.Start(ctx, dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	client, err := mongo.Connect(options.Client().ApplyURI(srv.URI()))
	if err != nil {
		t.Fatal(err)
	}
	coll := client.Database("types").Collection("all")
	oid := bson.NewObjectID()
	docs := []bson.D{
		{{Key: "_id", Value: oid}, {Key: "double", Value: 1.5}, {Key: "negZero", Value: math.Copysign(0, -1)},
			{Key: "max", Value: math.MaxFloat64}, {Key: "denormal", Value: 5e-324}, {Key: "tenth", Value: 0.1},
			{Key: "whole", Value: 3.0}, {Key: "huge", Value: 1e300}},
		{{Key: "_id", Value: "a string id"}, {Key: "empty", Value: ""}, {Key: "unicode", Value: "héllo 😀 \u2028 \"q\" \\ \x01 <b>"},
			{Key: "ключ", Value: "значение"}, {Key: "with space", Value: "ok"}},
		{{Key: "_id", Value: int32(7)}, {Key: "min32", Value: int32(math.MinInt32)}, {Key: "max32", Value: int32(math.MaxInt32)},
			{Key: "min64", Value: int64(math.MinInt64)}, {Key: "max64", Value: int64(math.MaxInt64)}, {Key: "small64", Value: int64(1)},
			{Key: "t", Value: true}, {Key: "f", Value: false}, {Key: "null", Value: nil}},
		{{Key: "_id", Value: int64(1) << 40}, {Key: "date", Value: bson.NewDateTimeFromTime(time.Date(2026, 12, 3, 15, 4, 5, 678e6, time.UTC))},
			{Key: "beforeEpoch", Value: bson.NewDateTimeFromTime(time.Date(1901, 1, 2, 3, 4, 5, 0, time.UTC))},
			{Key: "oid", Value: oid}},
		{{Key: "_id", Value: bson.NewObjectID()}, {Key: "nested", Value: bson.D{{Key: "a", Value: bson.D{{Key: "b", Value: bson.A{int32(1), "two", bson.D{{Key: "c", Value: nil}}, bson.D{}}}}}, {Key: "z", Value: int64(9)}}},
			{Key: "emptyDoc", Value: bson.D{}}, {Key: "emptyArr", Value: bson.A{}}, {Key: "mixed", Value: bson.A{nil, true, 1.25, int64(3), "s", oid}},
			{Key: "order", Value: bson.D{{Key: "z", Value: int32(1)}, {Key: "a", Value: int32(2)}, {Key: "m", Value: int32(3)}}}},
		{{Key: "_id", Value: bson.NewObjectID()}, {Key: "nan", Value: math.NaN()}},
		{{Key: "_id", Value: bson.NewObjectID()}, {Key: "inf", Value: math.Inf(1)}},
		{{Key: "_id", Value: bson.NewObjectID()}, {Key: `quote"key`, Value: int32(1)}},
		{{Key: "_id", Value: bson.NewObjectID()}, {Key: "a.b", Value: int32(1)}},
	}
	for _, d := range docs {
		if _, err := coll.InsertOne(ctx, d); err != nil {
			t.Logf("FerretDB refuses %v: %v", d, err)
		}
	}
	// Types the API never stores (a client sends JSON), which only the mongo engine keeps.
	exotic := bson.D{{Key: "_id", Value: 2.5}, {Key: "bin", Value: bson.Binary{Subtype: 0, Data: []byte{0, 1, 2, 255}}},
		{Key: "uuid", Value: bson.Binary{Subtype: 4, Data: make([]byte, 16)}}, {Key: "user", Value: bson.Binary{Subtype: 0x80, Data: []byte("x")}},
		{Key: "emptyBin", Value: bson.Binary{Subtype: 0, Data: []byte{}}},
		{Key: "regex", Value: bson.Regex{Pattern: `^a.*"b"\d$`, Options: "imsx"}}, {Key: "plainRegex", Value: bson.Regex{Pattern: "x"}},
		{Key: "ts", Value: bson.Timestamp{T: 1764770000, I: 42}}}
	if _, err := client.Database("exotic").Collection("x").InsertOne(ctx, exotic); err != nil {
		t.Fatal(err)
	}
	if err := client.Database("types").CreateCollection(ctx, "capped", options.CreateCollection().SetCapped(true).SetSizeInBytes(1<<20)); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := client.Database("types").Collection("capped").InsertOne(ctx, bson.D{{Key: "_id", Value: int32(10 - i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client.Database("types").Collection("indexed").Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "x", Value: -1}, {Key: "y", Value: 1}}}); err != nil {
		t.Fatal(err)
	}
	cur, err := coll.Find(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var want []bson.D
	if err := cur.All(ctx, &want); err != nil {
		t.Fatal(err)
	}
	if len(want) < 5 {
		t.Fatalf("FerretDB kept only %d documents", len(want))
	}
	_ = client.Disconnect(ctx)
	srv.Close()

	file := filepath.Join(dir, "types.sqlite")
	sameDocuments(t, "decoded", readFerretFile(t, file)["all"], want)
	exoticFile := filepath.Join(dir, "exotic.sqlite")
	sameDocuments(t, "decoded exotic", readFerretFile(t, exoticFile)["x"], []bson.D{exotic})
	for _, eng := range engines(t) {
		st, err := eng.open(ctx, filepath.Join(t.TempDir(), "data.db"))
		if err != nil {
			t.Fatal(err)
		}
		rep, err := Import(ctx, file, st)
		if err != nil {
			t.Fatalf("%s: %v", eng.name, err)
		}
		if len(rep.Collections) != 3 || rep.Collections[1].Documents != 3 || len(rep.Collections[2].Indexes) != 1 || rep.Collections[2].Indexes[0] != "x_-1_y_1" {
			t.Errorf("%s: report %+v", eng.name, rep)
		}
		got, err := st.Collection("all").Find(ctx, bson.D{}, docstore.FindOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sameDocuments(t, eng.name, got, want)
		_, err = Import(ctx, exoticFile, st)
		switch {
		case eng.name == docstore.EngineMongo && err != nil:
			t.Errorf("mongo: import binary data, regex and timestamp: %v", err)
		case eng.name == docstore.EngineSQLite && (err == nil || !strings.Contains(err.Error(), `collection "x": insert document 1`)):
			t.Errorf("sqlite: binary data, regex and timestamp, which it does not store: %v, want an error naming the document", err)
		}
		idx, err := st.Collection("indexed").ListIndexes(ctx)
		if err != nil || len(idx) != 1 || !reflect.DeepEqual(idx[0].Fields, []string{"-x", "y"}) {
			t.Errorf("%s: indexes %+v, %v", eng.name, idx, err)
		}
		_ = st.Close(ctx)
	}
}
