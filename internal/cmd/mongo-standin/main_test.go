package main

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// TestServesUntilCancelled stores a document through the Mongo driver, stops the server as
// SIGTERM would, and starts it again on the same directory to find the document kept.
func TestServesUntilCancelled(t *testing.T) {
	dir := t.TempDir()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for i, want := range []int64{1, 2} {
		ctx, cancel := context.WithCancel(context.Background())
		uris := make(chan string, 1)
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-dir", dir}, quiet, func(uri string) { uris <- uri })
		}()
		var uri string
		select {
		case uri = <-uris:
		case err := <-done:
			t.Fatalf("run %d: %v", i, err)
		case <-time.After(30 * time.Second):
			t.Fatalf("run %d: not listening after 30s", i)
		}
		client, err := mongo.Connect(options.Client().ApplyURI(uri))
		if err != nil {
			t.Fatalf("connect %s: %v", uri, err)
		}
		coll := client.Database("backpack").Collection("notes")
		if _, err := coll.InsertOne(context.Background(), bson.D{{Key: "n", Value: i}}); err != nil {
			t.Fatalf("insert: %v", err)
		}
		n, err := coll.CountDocuments(context.Background(), bson.D{})
		if err != nil || n != want {
			t.Fatalf("run %d: count = %d, %v; want %d", i, n, err, want)
		}
		_ = client.Disconnect(context.Background())
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("run %d returned %v after cancel", i, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("run %d: still running 30s after cancel", i)
		}
	}
}

func TestRefusesArguments(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := run(context.Background(), []string{"extra"}, quiet, nil); err == nil {
		t.Fatal("run accepted a positional argument")
	}
}
