package docstoretest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/backpackhq/backpack/tools/docstore"
)

// racers is how many writers race in each concurrency case.
const racers = 8

// concurrency checks that the guarantees writers rely on hold when they race: a unique value
// is taken once, and of several compare-and-swaps from the same version one wins.
func (s *suite) concurrency(t *testing.T) {
	s.run(t, "Concurrency", func(t *testing.T) {
		c := s.open(t).Collection("things")
		if err := c.CreateIndex(ctx(t), docstore.Index{Fields: []string{"email"}, Unique: true}); err != nil {
			t.Fatalf("create index: %v", err)
		}
		s.run(t, "unique_insert", func(t *testing.T) {
			errs := race(func(i int) error {
				return c.Insert(ctx(t), bson.D{{Key: "_id", Value: fmt.Sprint("racer", i)}, {Key: "email", Value: "same@x"}})
			})
			oneWins(t, errs, docstore.IsDuplicate, "a *docstore.DuplicateError")
		})
		s.run(t, "compare_and_swap", func(t *testing.T) {
			start := bson.DateTime(1)
			insertAll(t, c, []bson.D{{{Key: "_id", Value: "cas"}, {Key: "_updatedAt", Value: start}, {Key: "winner", Value: int32(-1)}}})
			errs := race(func(i int) error {
				_, err := c.Replace(ctx(t),
					bson.D{{Key: "_id", Value: "cas"}, {Key: "_updatedAt", Value: start}},
					bson.D{{Key: "_id", Value: "cas"}, {Key: "_updatedAt", Value: start + 1}, {Key: "winner", Value: int32(i)}})
				return err
			})
			oneWins(t, errs, func(err error) bool { return errors.Is(err, docstore.ErrNotFound) }, "docstore.ErrNotFound")
			winner := lookup(findOne(t, c, byID("cas")), "winner")
			if w, ok := winner.(int32); !ok || w < 0 || errs[w] != nil {
				t.Errorf("stored winner %v, which did not win", winner)
			}
		})
	})
}

// race runs fn for each racer at once and returns their errors, by racer.
func race(fn func(i int) error) []error {
	errs := make([]error, racers)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range racers {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			errs[i] = fn(i)
		}()
	}
	start.Done()
	done.Wait()
	return errs
}

// oneWins fails the test unless exactly one racer succeeded and every other failed as lost
// says.
func oneWins(t *testing.T, errs []error, lost func(error) bool, want string) {
	t.Helper()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !lost(err):
			t.Errorf("racer %d: got %v, want success or %s", i, err, want)
		}
	}
	if wins != 1 {
		t.Errorf("%d racers succeeded, want 1", wins)
	}
}
