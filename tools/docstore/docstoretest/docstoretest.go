// Package docstoretest is the conformance suite of the document store: every data behaviour the
// API relies on, stated once with MongoDB's semantics (production runs mongo:7), and run by each
// engine's tests on that engine. A difference between the engines is a bug in one of them; the
// suite says which.
//
// Filters are written as the JSON text a client sends and go through filter.Parse, so the suite
// tests what clients can really ask for; fixtures are written in relaxed Extended JSON, where
// 5 is an int32, 5.0 a double, {"$numberLong": "5"} an int64, {"$oid": ...} an ObjectID and
// {"$date": ...} a date. Where MongoDB's own tests state a behaviour (jstests null2.js,
// null_query_semantics.js, sort_dotted_paths.js), the cases follow them.
//
// Each engine's tests call Run (or RunWith, to skip what a stand-in server cannot do) with a
// function opening a fresh store. Differential complements the cases: it runs the same
// generated data and queries on two engines and reports where they part; this package's own
// tests wire the engine pairs.
package docstoretest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/filter"
)

// Options adapt a run of the suite to an engine under test.
type Options struct {
	// Skip maps the name of a subtest, relative to Run's test (as "Filter/nulls/eq_null"), to
	// the reason it is skipped. It exists for the stand-ins engines are tested on (FerretDB
	// in place of MongoDB), whose deviations from MongoDB the suite must not absorb: each
	// reason names the deviation. A name that matches no subtest fails the run.
	Skip map[string]string
}

// Run runs the whole suite. open returns a fresh, empty store; it is called once per group of
// subtests and the store is the caller's to close (with t.Cleanup).
func Run(t *testing.T, open func(t *testing.T) docstore.Store) {
	RunWith(t, open, Options{})
}

// RunWith runs the whole suite with options.
func RunWith(t *testing.T, open func(t *testing.T) docstore.Store, opts Options) {
	s := &suite{open: open, opts: opts, root: t.Name(), skipped: map[string]bool{}}
	s.documents(t)
	s.filters(t)
	s.sorts(t)
	s.parallelArrays(t)
	s.reads(t)
	s.writes(t)
	s.insertMany(t)
	s.collections(t)
	s.indexes(t)
	s.concurrency(t)
	s.deadlines(t)
	s.checkSkips(t)
}

// suite carries what every group of subtests needs.
type suite struct {
	open    func(t *testing.T) docstore.Store
	opts    Options
	root    string
	skipped map[string]bool
}

// run runs fn as subtest name, unless Options.Skip names it.
func (s *suite) run(t *testing.T, name string, fn func(t *testing.T)) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		rel := strings.TrimPrefix(t.Name(), s.root+"/")
		if reason, ok := s.opts.Skip[rel]; ok {
			s.skipped[rel] = true
			t.Skip(reason)
		}
		fn(t)
	})
}

// checkSkips fails the run when Options.Skip names a subtest that does not exist, so that a
// renamed subtest cannot silently keep a skip. Runs narrowed to some subtests (-run with a
// "/") are not checked.
func (s *suite) checkSkips(t *testing.T) {
	if f := flag.Lookup("test.run"); f != nil && strings.Contains(f.Value.String(), "/") {
		return
	}
	for name := range s.opts.Skip {
		if !s.skipped[name] {
			t.Errorf("Options.Skip names %q, which is not a subtest of the suite", name)
		}
	}
}

// ctx is the context of one engine call.
func ctx(t *testing.T) context.Context {
	return t.Context()
}

// docs parses fixtures written in relaxed Extended JSON.
func docs(t *testing.T, texts ...string) []bson.D {
	t.Helper()
	out := make([]bson.D, 0, len(texts))
	for _, text := range texts {
		out = append(out, doc(t, text))
	}
	return out
}

// doc parses one document written in relaxed Extended JSON.
func doc(t *testing.T, text string) bson.D {
	t.Helper()
	var d bson.D
	if err := bson.UnmarshalExtJSON([]byte(text), false, &d); err != nil {
		t.Fatalf("fixture %s: %v", text, err)
	}
	return d
}

// insertAll inserts documents into a collection.
func insertAll(t *testing.T, c docstore.Collection, ds []bson.D) {
	t.Helper()
	for _, d := range ds {
		if err := c.Insert(ctx(t), d); err != nil {
			t.Fatalf("insert %s: %v", extJSON(d), err)
		}
	}
}

// parse builds a filter as a client sends it: JSON text through filter.Parse.
func parse(t *testing.T, text string) bson.D {
	t.Helper()
	f, err := filter.Parse(text)
	if err != nil {
		t.Fatalf("filter.Parse(%s): %v", text, err)
	}
	return f
}

// idString renders an _id for comparisons: a string as it is, an ObjectID as its hex.
func idString(v any) string {
	switch id := v.(type) {
	case string:
		return id
	case bson.ObjectID:
		return id.Hex()
	default:
		return fmt.Sprintf("%v", id)
	}
}

// ids lists the _id of each document, in order.
func ids(ds []bson.D) []string {
	out := make([]string, 0, len(ds))
	for _, d := range ds {
		out = append(out, idString(lookup(d, "_id")))
	}
	return out
}

// lookup returns a top-level field's value, nil when missing.
func lookup(d bson.D, key string) any {
	for _, e := range d {
		if e.Key == key {
			return e.Value
		}
	}
	return nil
}

// sortedIDs lists the _id of each document, sorted, for comparisons as sets.
func sortedIDs(ds []bson.D) []string {
	out := ids(ds)
	sort.Strings(out)
	return out
}

// sorted returns a sorted copy.
func sorted(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}

// extJSON renders a document as canonical Extended JSON, which shows every value's type (an
// int32 5 is {"$numberInt":"5"}, a double -0 {"$numberDouble":"-0.0"}), so that two documents
// render alike exactly when they are the same document, key order included.
func extJSON(d bson.D) string {
	b, err := bson.MarshalExtJSON(d, true, false)
	if err != nil {
		return fmt.Sprintf("%#v (not renderable: %v)", d, err)
	}
	return string(b)
}

// sameDoc fails the test unless got is want, value types and key order included.
func sameDoc(t *testing.T, what string, got, want bson.D) {
	t.Helper()
	if g, w := extJSON(got), extJSON(want); g != w {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

// sameDocs fails the test unless got are the documents want, in order.
func sameDocs(t *testing.T, what string, got, want []bson.D) {
	t.Helper()
	render := func(ds []bson.D) string {
		parts := make([]string, len(ds))
		for i, d := range ds {
			parts[i] = extJSON(d)
		}
		return "[" + strings.Join(parts, ",\n      ") + "]"
	}
	if g, w := render(got), render(want); g != w {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

// isDuplicate fails the test unless err is a *docstore.DuplicateError naming fields (and the
// index, when index is not empty).
func isDuplicate(t *testing.T, what string, err error, index string, fields ...string) {
	t.Helper()
	var dup *docstore.DuplicateError
	if !errors.As(err, &dup) {
		t.Errorf("%s: got error %v, want a *docstore.DuplicateError", what, err)
		return
	}
	if index != "" && dup.Index != index {
		t.Errorf("%s: DuplicateError.Index = %q, want %q", what, dup.Index, index)
	}
	if !slices.Equal(dup.Fields, fields) {
		t.Errorf("%s: DuplicateError.Fields = %q, want %q", what, dup.Fields, fields)
	}
}

// isNotFound fails the test unless err is docstore.ErrNotFound.
func isNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, docstore.ErrNotFound) {
		t.Errorf("%s: got error %v, want docstore.ErrNotFound", what, err)
	}
}

// find runs Find and fails the test on an error.
func find(t *testing.T, c docstore.Collection, f bson.D, opts docstore.FindOptions) []bson.D {
	t.Helper()
	got, err := c.Find(ctx(t), f, opts)
	if err != nil {
		t.Fatalf("find %s: %v", extJSON(f), err)
	}
	return got
}

// findOne runs FindOne and fails the test on an error.
func findOne(t *testing.T, c docstore.Collection, f bson.D) bson.D {
	t.Helper()
	got, err := c.FindOne(ctx(t), f, docstore.FindOptions{})
	if err != nil {
		t.Fatalf("find one %s: %v", extJSON(f), err)
	}
	return got
}

// byID is the filter on one _id.
func byID(id any) bson.D {
	return bson.D{{Key: "_id", Value: id}}
}

// sortSpec builds a sort from "a", "-b" items, as the API's ?sort= does.
func sortSpec(t *testing.T, items ...string) bson.D {
	t.Helper()
	s, err := filter.ParseSort(strings.Join(items, ","))
	if err != nil {
		t.Fatalf("sort %q: %v", items, err)
	}
	return s
}
