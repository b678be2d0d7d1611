package local

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/backpackhq/backpack/controlplane/runtime"
)

func ringLines(t *testing.T, r *ring, tail int) []string {
	t.Helper()
	var buf bytes.Buffer
	if err := r.stream(context.Background(), tail, false, &buf); err != nil {
		t.Fatal(err)
	}
	return strings.Fields(buf.String())
}

func TestRingKeepsTheLastLines(t *testing.T) {
	r := newRing(3)
	if got := ringLines(t, r, runtime.AllLines); len(got) != 0 {
		t.Fatalf("empty ring: %q", got)
	}
	r.add("1")
	r.add("2")
	if got := ringLines(t, r, runtime.AllLines); !slices.Equal(got, []string{"1", "2"}) {
		t.Fatalf("partly filled: %q", got)
	}
	for i := 3; i <= 7; i++ {
		r.add(fmt.Sprint(i))
	}
	for tail, want := range map[int][]string{runtime.AllLines: {"5", "6", "7"}, 0: nil, 2: {"6", "7"}, 3: {"5", "6", "7"}, 10: {"5", "6", "7"}} {
		if got := ringLines(t, r, tail); !slices.Equal(got, want) {
			t.Errorf("tail %d = %q, want %q", tail, got, want)
		}
	}
}

func TestRingFollow(t *testing.T) {
	r := newRing(2)
	r.add("old")
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- r.stream(ctx, runtime.AllLines, true, pw)
		pw.Close()
	}()
	chunks := make(chan string)
	go func() {
		defer close(chunks)
		buf := make([]byte, 64)
		for {
			n, err := pr.Read(buf)
			if err != nil {
				return
			}
			chunks <- string(buf[:n])
		}
	}()
	read := func() string {
		t.Helper()
		select {
		case c, ok := <-chunks:
			if !ok {
				t.Fatal("the stream ended")
			}
			return c
		case <-time.After(5 * time.Second):
			t.Fatal("nothing arrived")
		}
		return ""
	}
	if got := read(); got != "old\n" {
		t.Fatalf("first = %q", got)
	}
	// More lines than the ring keeps may arrive while the follower is busy; it skips to what
	// is still kept instead of failing.
	for _, l := range []string{"a", "b", "c"} {
		r.add(l)
	}
	var got []string
	for len(got) == 0 || got[len(got)-1] != "c" {
		got = append(got, strings.Fields(read())...)
	}
	if !slices.Equal(got, []string{"b", "c"}) && !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("followed %q", got)
	}
	// Closing the ring (the backend was removed) ends the stream.
	r.close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("follow did not end when the ring closed")
	}
	r.add("after close")
	if got := ringLines(t, r, 0); slices.Contains(got, "close") {
		t.Fatalf("a closed ring took a line: %q", got)
	}
}

func TestAPILoggerTees(t *testing.T) {
	lines := newRing(10)
	var parent bytes.Buffer
	log := apiLogger("shop", lines, slog.New(slog.NewJSONHandler(&parent, &slog.HandlerOptions{Level: slog.LevelWarn})))
	log.With("request_id", "r1").Info("request", "path", "/x")
	log.Warn("slow", "ms", 900)

	kept, _, _, _ := lines.from(0, false)
	if len(kept) != 2 {
		t.Fatalf("ring holds %q", kept)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(kept[0]), &rec); err != nil || rec["path"] != "/x" || rec["request_id"] != "r1" || rec["backend"] != nil {
		t.Fatalf("ring line %q: %v", kept[0], err)
	}
	// The parent only gets what its level lets through, tagged with the backend.
	if out := parent.String(); strings.Count(out, "\n") != 1 || !strings.Contains(out, `"backend":"shop"`) || !strings.Contains(out, `"msg":"slow"`) {
		t.Fatalf("parent got %q", out)
	}
}
