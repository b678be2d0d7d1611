package ferretimport

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/backpackhq/backpack/tools/embeddeddb"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// BenchmarkImport10k imports a FerretDB database of 10,000 documents of the shape the API
// stores (plus 1,000 users under a unique email index) into the sqlite engine: how long an
// upgrade takes per 10k documents.
func BenchmarkImport10k(b *testing.B) {
	dir := b.TempDir()
	ctx := context.Background()
	srv, err := embeddeddb.Start(ctx, dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	client, err := mongo.Connect(options.Client().ApplyURI(srv.URI()))
	if err != nil {
		b.Fatal(err)
	}
	db := client.Database("backpack")
	var docs []any
	for i := range 10000 {
		docs = append(docs, bson.D{{Key: "_id", Value: bson.NewObjectID()}, {Key: "title", Value: fmt.Sprintf("item %d", i)},
			{Key: "n", Value: int32(i)}, {Key: "price", Value: float64(i) / 4}, {Key: "tags", Value: bson.A{"a", "b"}},
			{Key: "meta", Value: bson.D{{Key: "ok", Value: i%2 == 0}, {Key: "at", Value: "2026-12-03T15:04:05.678Z"}}},
			{Key: "_createdAt", Value: "2026-12-03T15:04:05.678Z"}})
	}
	if _, err := db.Collection("items").InsertMany(ctx, docs); err != nil {
		b.Fatal(err)
	}
	var users []any
	for i := range 1000 {
		users = append(users, bson.D{{Key: "_id", Value: bson.NewObjectID()}, {Key: "email", Value: fmt.Sprintf("u%d@example.com", i)},
			{Key: "passwordHash", Value: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA"}})
	}
	if _, err := db.Collection("_users").InsertMany(ctx, users); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Collection("_users").Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "email", Value: 1}}, Options: options.Index().SetUnique(true).SetName("email_unique")}); err != nil {
		b.Fatal(err)
	}
	_ = client.Disconnect(ctx)
	srv.Close()
	file := filepath.Join(dir, "backpack.sqlite")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st, err := sqliteEngine().open(ctx, filepath.Join(b.TempDir(), "data.db"))
		if err != nil {
			b.Fatal(err)
		}
		rep, err := Import(ctx, file, st)
		if err != nil || rep.Documents() != 11000 {
			b.Fatalf("%+v, %v", rep, err)
		}
		if err := st.Close(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(11000*b.N)/b.Elapsed().Seconds(), "docs/s")
}
