package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestEvents(t *testing.T) {
	each(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		var shop1 []Event
		var last int64
		// Interleaved across backends and operations: IDs increase across all of them.
		for i := range 6 {
			for _, key := range []struct {
				backend string
				op      int64
			}{{"shop", 1}, {"shop", 2}, {"blog", 1}} {
				e := Event{Backend: key.backend, Operation: key.op, At: at(time.Duration(i) * time.Second),
					Kind: "progress", State: StateCreating, Message: fmt.Sprintf("%s@%d #%d", key.backend, key.op, i)}
				got, err := s.AddEvent(ctx, e)
				wantErr(t, "add", err, nil)
				if got.ID <= last {
					t.Fatalf("event ID %d after %d: not increasing", got.ID, last)
				}
				last = got.ID
				e.ID = got.ID
				wantEqual(t, "added", got, e)
				if key.backend == "shop" && key.op == 1 {
					shop1 = append(shop1, e)
				}
			}
		}
		es, err := s.Events(ctx, "shop", 1, 0)
		wantErr(t, "events", err, nil)
		wantEqual(t, "shop@1", es, shop1)
		es, err = s.Events(ctx, "shop", 1, shop1[2].ID)
		wantErr(t, "events after", err, nil)
		wantEqual(t, "shop@1 after the third", es, shop1[3:])
		es, err = s.Events(ctx, "shop", 1, shop1[5].ID)
		wantErr(t, "events after the last", err, nil)
		if len(es) != 0 {
			t.Fatalf("events after the last: %+v", es)
		}
		es, err = s.Events(ctx, "shop", 3, 0)
		wantErr(t, "no events", err, nil)
		if len(es) != 0 {
			t.Fatalf("events of an operation that has none: %+v", es)
		}
	})
}
