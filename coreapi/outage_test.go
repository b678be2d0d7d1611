package coreapi

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/docstore/mongostore"
	"github.com/backpackhq/backpack/tools/embeddeddb"
)

// TestDatabaseOutage stops the Mongo server under a continuous write load and starts it again
// on the same data: every write fails with 503 database_unavailable and Retry-After (never 500)
// and promptly, the replica stays in rotation (scope=serving) while /readyz reports the outage,
// and every acknowledged write is there afterwards. The server is FerretDB (the stand-in for
// mongo:7) on TCP, in-process, through the product's own mongostore.Connect and its timeouts.
func TestDatabaseOutage(t *testing.T) {
	dir := t.TempDir()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := embeddeddb.StartAt(context.Background(), "127.0.0.1:0", dir, quiet)
	if err != nil {
		t.Fatalf("start FerretDB: %v", err)
	}
	u, err := url.Parse(db.URI())
	if err != nil {
		t.Fatal(err)
	}
	addr := u.Host
	down := func() { db.Close(); db = nil }
	t.Cleanup(func() {
		if db != nil {
			db.Close()
		}
	})
	store, err := mongostore.Connect(context.Background(), db.URI(), "backend", docstore.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close(context.Background()) })
	a := newTestAPIOn(t, store)
	c, _ := a.signedIn()
	c.mustStatus(http.StatusCreated, c.post("/collections", map[string]string{"name": "notes"}))

	// The container's healthcheck has asked since the replica started.
	probe := a.client()
	probe.mustStatus(http.StatusOK, probe.get("/readyz?scope=serving"))

	var acked []string
	var unavailable, other int
	var slowest time.Duration
	write := func(i int) int {
		t.Helper()
		start := time.Now()
		r := c.post("/notes", map[string]any{"i": i})
		took := time.Since(start)
		switch {
		case r.status == http.StatusCreated:
			acked = append(acked, r.doc()["_id"].(string))
		case r.status == http.StatusServiceUnavailable && r.errorCode() == "database_unavailable":
			if r.header.Get("Retry-After") == "" {
				t.Fatalf("database_unavailable without Retry-After: %v", r.header)
			}
			unavailable++
			slowest = max(slowest, took)
		default:
			other++
			t.Errorf("write %d: %d %s", i, r.status, r.body)
		}
		return r.status
	}

	i := 0
	for range 20 {
		write(i)
		i++
	}
	stopped := make(chan struct{})
	go func() { time.Sleep(50 * time.Millisecond); down(); close(stopped) }()
	for outage := 0; outage < 5; {
		if write(i) != http.StatusCreated {
			outage++
		}
		i++
	}
	<-stopped
	if r := probe.get("/readyz"); r.status != http.StatusServiceUnavailable {
		t.Errorf("/readyz during the outage: %d %s", r.status, r.body)
	}
	if r := probe.get("/readyz?scope=serving"); r.status != http.StatusOK {
		t.Errorf("/readyz?scope=serving during the outage: %d %s, want the replica kept in rotation", r.status, r.body)
	}
	if r := c.get("/notes"); r.status != http.StatusServiceUnavailable || r.errorCode() != "database_unavailable" {
		t.Errorf("read during the outage: %d %s", r.status, r.body)
	}

	db, err = embeddeddb.StartAt(context.Background(), addr, dir, quiet)
	if err != nil {
		t.Fatalf("restart FerretDB at %s: %v", addr, err)
	}
	restarted := time.Now()
	deadline := restarted.Add(time.Minute) // a safety bound, not a measure
	for write(i) != http.StatusCreated {
		i++
		if time.Now().After(deadline) {
			t.Fatal("writes never succeeded again after the database came back")
		}
	}
	t.Logf("writes: %d acknowledged, %d failed with 503 database_unavailable (slowest %s), %d other; back %s after the restart",
		len(acked), unavailable, slowest.Round(time.Millisecond), other, time.Since(restarted).Round(time.Millisecond))

	lost := 0
	for _, id := range acked {
		if r := c.get("/notes/" + id); r.status != http.StatusOK {
			lost++
			t.Errorf("acknowledged write %s: %d %s", id, r.status, r.body)
		}
	}
	t.Logf("lost: %d of %d acknowledged", lost, len(acked))
	if unavailable == 0 {
		t.Fatal("no write failed during the outage: the test did not stop the database")
	}
}
