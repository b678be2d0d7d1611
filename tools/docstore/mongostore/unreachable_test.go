package mongostore_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/docstore/mongostore"
	"github.com/backpackhq/backpack/tools/embeddeddb"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestStoppedServerIsUnavailable stops the server under a connected store: every kind of call
// fails with docstore.ErrUnavailable (what the API answers 503 database_unavailable for), not
// a bare driver error, and within the reach timeout rather than the call timeout. Durations
// are printed.
func TestStoppedServerIsUnavailable(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := embeddeddb.StartAt(context.Background(), "127.0.0.1:0", t.TempDir(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	s, err := mongostore.Connect(context.Background(), srv.URI(), "test", docstore.Limits{})
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	ctx := context.Background()
	c := s.Collection("notes")
	if err := c.Insert(ctx, bson.D{{Key: "_id", Value: bson.NewObjectID()}}); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	for name, call := range map[string]func() error{
		"ping":   func() error { return s.Ping(ctx) },
		"insert": func() error { return c.Insert(ctx, bson.D{{Key: "_id", Value: bson.NewObjectID()}}) },
		"find":   func() error { _, err := c.Find(ctx, bson.D{}, docstore.FindOptions{}); return err },
		"count":  func() error { _, err := c.Count(ctx, bson.D{}); return err },
		"list":   func() error { _, err := s.ListCollections(ctx); return err },
	} {
		start := time.Now()
		err := call()
		t.Logf("%s with the server stopped: %s: %v", name, time.Since(start).Round(time.Millisecond), err)
		if !errors.Is(err, docstore.ErrUnavailable) {
			t.Errorf("%s: %v, want docstore.ErrUnavailable", name, err)
		}
	}
}
