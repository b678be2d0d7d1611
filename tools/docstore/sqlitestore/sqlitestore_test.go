package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/backpackhq/backpack/tools/docstore"
)

// TestRoundTrip stores every type the API stores and reads it back with the same Go types,
// values and key order; SQLite itself must accept the JSONB the engine writes.
func TestRoundTrip(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	c := s.Collection("things")
	oid := bson.NewObjectID()
	when := bson.NewDateTimeFromTime(time.Date(2026, 12, 3, 15, 4, 5, 678e6, time.UTC))
	doc := bson.D{
		{Key: "_id", Value: oid},
		{Key: "z", Value: "last key first"},
		{Key: "s", Value: "quote \" backslash \\ newline \n tab \t nul \x00 é 漢字 🎒"},
		{Key: "empty", Value: ""},
		{Key: "i32", Value: int32(-7)},
		{Key: "i32max", Value: int32(math.MaxInt32)},
		{Key: "i64", Value: int64(5)},
		{Key: "i64min", Value: int64(math.MinInt64)},
		{Key: "i64max", Value: int64(math.MaxInt64)},
		{Key: "f", Value: 5.0},
		{Key: "fneg0", Value: math.Copysign(0, -1)},
		{Key: "fsmall", Value: 1e-300},
		{Key: "fbig", Value: 1.5e300},
		{Key: "inf", Value: math.Inf(1)},
		{Key: "ninf", Value: math.Inf(-1)},
		{Key: "t", Value: true},
		{Key: "fa", Value: false},
		{Key: "null", Value: nil},
		{Key: "ref", Value: bson.NewObjectID()},
		{Key: "when", Value: when},
		{Key: "arr", Value: bson.A{int32(1), "two", 3.0, nil, bson.A{}, bson.D{{Key: "k", Value: int64(9)}}}},
		{Key: "obj", Value: bson.D{{Key: "b", Value: int32(1)}, {Key: "a", Value: bson.D{{Key: "deep", Value: bson.A{oid}}}}}},
		{Key: "emptyobj", Value: bson.D{}},
		{Key: "long", Value: strings.Repeat("x", 70000)},
	}
	if err := c.Insert(ctx, doc); err != nil {
		t.Fatal(err)
	}
	got, err := c.FindOne(ctx, bson.D{{Key: "_id", Value: oid}}, docstore.FindOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, doc) {
		t.Errorf("round trip:\n got %#v\nwant %#v", got, doc)
	}
	if got[10].Value.(float64) != 0 || !math.Signbit(got[10].Value.(float64)) {
		t.Errorf("-0.0 came back as %v", got[10].Value)
	}

	// Go types the driver would convert are stored as it would store them.
	conv := bson.D{{Key: "_id", Value: "conv"}, {Key: "int", Value: 3}, {Key: "bigint", Value: 1 << 40},
		{Key: "time", Value: when.Time()}, {Key: "slice", Value: []any{1, "a"}}, {Key: "strs", Value: []string{"x", "y"}},
		{Key: "map", Value: bson.M{"k": "v"}}}
	if err := c.Insert(ctx, conv); err != nil {
		t.Fatal(err)
	}
	got, err = c.FindOne(ctx, bson.D{{Key: "_id", Value: "conv"}}, docstore.FindOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := bson.D{{Key: "_id", Value: "conv"}, {Key: "int", Value: int32(3)}, {Key: "bigint", Value: int64(1 << 40)},
		{Key: "time", Value: when}, {Key: "slice", Value: bson.A{int32(1), "a"}}, {Key: "strs", Value: bson.A{"x", "y"}},
		{Key: "map", Value: bson.D{{Key: "k", Value: "v"}}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("converted:\n got %#v\nwant %#v", got, want)
	}

	var bad int
	if err := s.rdb.QueryRow(`SELECT count(*) FROM "c_things" WHERE NOT json_valid(doc, 8)`).Scan(&bad); err != nil || bad != 0 {
		t.Errorf("documents SQLite finds invalid: %d, %v", bad, err)
	}
	var text string
	if err := s.rdb.QueryRow(`SELECT json(doc) FROM "c_things" WHERE id='conv'`).Scan(&text); err != nil {
		t.Fatal(err)
	}
	if wantText := `{"_id":"conv","int":3,"bigint":1099511627776,"time":{"$date":"2026-12-03T15:04:05.678Z"},"slice":[1,"a"],"strs":["x","y"],"map":{"k":"v"}}`; text != wantText {
		t.Errorf("json(doc) = %s\nwant %s", text, wantText)
	}

	if err := c.Insert(ctx, bson.D{{Key: "n", Value: 1}}); err == nil {
		t.Error("a document without _id was stored")
	}
	if err := c.Insert(ctx, bson.D{{Key: "_id", Value: true}}); err == nil {
		t.Error("a document with a boolean _id was stored")
	}
}

// TestFiles checks the database file's and directory's permissions.
func TestFiles(t *testing.T) {
	s := openTest(t, Options{})
	if err := s.Collection("a").Insert(context.Background(), bson.D{{Key: "_id", Value: "x"}}); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{s.Path(): 0o600, filepath.Dir(s.Path()): 0o700 | os.ModeDir} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
		}
	}
}

// TestReopen checks that collections, indexes and array paths survive a restart.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "data.db")
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := s.Collection("posts")
	if err := c.CreateIndex(ctx, docstore.Index{Fields: []string{"-n"}, Unique: true}); err != nil {
		t.Fatal(err)
	}
	if err := c.Insert(ctx, bson.D{{Key: "_id", Value: "a"}, {Key: "n", Value: 1}, {Key: "tags", Value: bson.A{"x", "y"}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, path)
	c = s.Collection("posts")
	idx, err := c.ListIndexes(ctx)
	if err != nil || len(idx) != 1 || idx[0].Name != "n_-1" || !idx[0].Unique || idx[0].Fields[0] != "-n" {
		t.Fatalf("indexes after reopen: %+v, %v", idx, err)
	}
	if n, err := c.Count(ctx, bson.D{{Key: "tags", Value: "y"}}); err != nil || n != 1 {
		t.Errorf("array element match after reopen: %d, %v", n, err)
	}
	if err := c.Insert(ctx, bson.D{{Key: "_id", Value: "b"}, {Key: "n", Value: 1}}); !docstore.IsDuplicate(err) {
		t.Errorf("unique index after reopen: %v", err)
	}
	names, err := s.ListCollections(ctx)
	if err != nil || !reflect.DeepEqual(names, []string{"posts"}) {
		t.Errorf("collections: %v, %v", names, err)
	}
}

func openAt(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// TestNames checks that collection names are identifiers, never SQL.
func TestNames(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	names := []string{`a"; DROP TABLE docstore_collections; --`, "_internal", "with space", "it's", "dash-ed", "日本"}
	for _, n := range names {
		c := s.Collection(n)
		if err := c.Insert(ctx, bson.D{{Key: "_id", Value: n}, {Key: `we"ird'field`, Value: 1}}); err != nil {
			t.Fatalf("insert into %q: %v", n, err)
		}
		if err := c.CreateIndex(ctx, docstore.Index{Name: `x"y'z`, Fields: []string{"n"}}); err != nil {
			t.Fatalf("index on %q: %v", n, err)
		}
		got, err := c.Find(ctx, bson.D{{Key: `we"ird'field`, Value: 1}}, docstore.FindOptions{Sort: bson.D{{Key: `we"ird'field`, Value: -1}}})
		if err != nil || len(got) != 1 {
			t.Fatalf("find in %q: %v, %v", n, got, err)
		}
	}
	got, err := s.ListCollections(ctx)
	if err != nil || len(got) != len(names) {
		t.Fatalf("collections: %v, %v", got, err)
	}
	if err := s.DropCollection(ctx, names[0]); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Collection(names[0]).Count(ctx, bson.D{}); err != nil || n != 0 {
		t.Errorf("dropped collection counts %d, %v", n, err)
	}
}

// TestDuplicates checks the duplicate errors: on _id, on a unique index (missing fields count
// as null, as in MongoDB), and on creating a unique index over repeated values.
func TestDuplicates(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	c := s.Collection("users")
	if err := c.CreateIndex(ctx, docstore.Index{Fields: []string{"email"}, Unique: true}); err != nil {
		t.Fatal(err)
	}
	insert := func(d bson.D) error { return c.Insert(ctx, d) }
	if err := insert(bson.D{{Key: "_id", Value: "a"}, {Key: "email", Value: "a@x"}}); err != nil {
		t.Fatal(err)
	}
	var dup *docstore.DuplicateError
	if err := insert(bson.D{{Key: "_id", Value: "a"}, {Key: "email", Value: "b@x"}}); !errors.As(err, &dup) || dup.Index != "_id" {
		t.Errorf("same _id: %v", err)
	}
	if err := insert(bson.D{{Key: "_id", Value: "b"}, {Key: "email", Value: "a@x"}}); !errors.As(err, &dup) || dup.Index != "email_1" || !reflect.DeepEqual(dup.Fields, []string{"email"}) {
		t.Errorf("same email: %v", err)
	}
	if err := insert(bson.D{{Key: "_id", Value: "c"}}); err != nil {
		t.Fatal(err)
	}
	if err := insert(bson.D{{Key: "_id", Value: "d"}, {Key: "email", Value: nil}}); !errors.As(err, &dup) || dup.Index != "email_1" {
		t.Errorf("null after missing: %v, want a duplicate (MongoDB indexes a missing field as null)", err)
	}
	if _, err := c.Update(ctx, bson.D{{Key: "_id", Value: "c"}}, docstore.Change{Set: bson.D{{Key: "email", Value: "a@x"}}}); !docstore.IsDuplicate(err) {
		t.Errorf("update onto a taken email: %v", err)
	}

	o := s.Collection("orders")
	for i, code := range []string{"x", "y", "x"} {
		if err := o.Insert(ctx, bson.D{{Key: "_id", Value: int32(i)}, {Key: "code", Value: code}}); err != nil {
			t.Fatal(err)
		}
	}
	err := o.CreateIndex(ctx, docstore.Index{Name: "code", Fields: []string{"code"}, Unique: true})
	if !errors.As(err, &dup) || dup.Index != "code" {
		t.Errorf("unique index over repeated values: %v", err)
	}
	if idx, err := o.ListIndexes(ctx); err != nil || len(idx) != 0 {
		t.Errorf("indexes after the refused one: %v, %v", idx, err)
	}
	var n int
	if err := s.rdb.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE type='index' AND tbl_name='c_orders' AND name NOT LIKE 'sqlite_%'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("SQLite indexes left behind: %d, %v", n, err)
	}
	tagged := s.Collection("tagged")
	for i, tags := range []bson.A{{"a", "b"}, {"c"}, {"b", "d"}} {
		if err := tagged.Insert(ctx, bson.D{{Key: "_id", Value: int32(i)}, {Key: "tags", Value: tags}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tagged.CreateIndex(ctx, docstore.Index{Fields: []string{"tags"}, Unique: true}); !errors.As(err, &dup) || dup.Index != "tags_1" {
		t.Errorf("unique index over arrays sharing an element: %v", err)
	}
	if _, err := tagged.Delete(ctx, bson.D{{Key: "_id", Value: int32(2)}}); err != nil {
		t.Fatal(err)
	}
	if err := tagged.CreateIndex(ctx, docstore.Index{Fields: []string{"tags"}, Unique: true}); err != nil {
		t.Errorf("unique index over arrays sharing nothing: %v", err)
	}
	if err := o.CreateIndex(ctx, docstore.Index{Name: "code", Fields: []string{"code"}}); err != nil {
		t.Fatal(err)
	}
	if err := o.CreateIndex(ctx, docstore.Index{Name: "code", Fields: []string{"other"}}); !errors.Is(err, docstore.ErrIndexExists) {
		t.Errorf("same name: %v", err)
	}
	if err := o.DropIndex(ctx, "nope"); !errors.Is(err, docstore.ErrIndexNotFound) {
		t.Errorf("drop missing: %v", err)
	}
}

// TestGroupCommit sends many concurrent inserts, a few of them duplicates: exactly those fail,
// and every other document is stored.
func TestGroupCommit(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	c := s.Collection("items")
	const n = 400
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprint(i)
			if i%50 == 7 {
				id = "dup"
			}
			errs[i] = c.Insert(ctx, bson.D{{Key: "_id", Value: id}, {Key: "n", Value: i}})
		}()
	}
	wg.Wait()
	dups := 0
	for i, err := range errs {
		switch {
		case err == nil:
		case docstore.IsDuplicate(err):
			dups++
		default:
			t.Errorf("insert %d: %v", i, err)
		}
	}
	if want := n/50 - 1; dups != want {
		t.Errorf("duplicates = %d, want %d", dups, want)
	}
	if got, err := c.Count(ctx, bson.D{}); err != nil || got != int64(n-dups) {
		t.Errorf("count = %d, %v; want %d", got, err, n-dups)
	}
}

// TestQueryPlans reads SQLite's plans: equality, ranges and sorts on indexed fields use their
// index (for ORDER BY too, with no temporary sort), _id uses the primary key, and an
// unindexed sort is a scan.
func TestQueryPlans(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	c := s.Collection("items")
	for i := range 50 {
		if err := c.Insert(ctx, bson.D{{Key: "_id", Value: bson.NewObjectID()}, {Key: "n", Value: i}, {Key: "s", Value: fmt.Sprint(i % 7)}, {Key: "o", Value: bson.D{{Key: "k", Value: i}}}, {Key: "u", Value: (i * 7) % 50}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, idx := range []docstore.Index{{Fields: []string{"n"}}, {Fields: []string{"s", "-n"}}, {Fields: []string{"o.k"}}} {
		if err := c.CreateIndex(ctx, idx); err != nil {
			t.Fatal(err)
		}
	}
	d := func(k string, v any) bson.D { return bson.D{{Key: k, Value: v}} }
	cases := []struct {
		name   string
		filter bson.D
		opts   docstore.FindOptions
		want   string // in some line of the plan
		unwant string // in no line
	}{
		{"eq", d("n", 5), docstore.FindOptions{}, "USING INDEX ix_1", "SCAN"},
		{"range", d("n", d("$gt", 5)), docstore.FindOptions{}, "USING INDEX ix_1", "SCAN"},
		{"in", d("n", d("$in", bson.A{1, 2, 3})), docstore.FindOptions{}, "USING INDEX ix_1", "SCAN"},
		{"dotted", d("o.k", d("$lte", 3)), docstore.FindOptions{}, "USING INDEX ix_3", "SCAN"},
		{"sort", nil, docstore.FindOptions{Sort: d("n", -1), Limit: 20}, "USING INDEX ix_1", "TEMP B-TREE"},
		{"sort_asc", nil, docstore.FindOptions{Sort: d("n", 1), Limit: 20}, "USING INDEX ix_1", "TEMP B-TREE"},
		{"compound", d("s", "3"), docstore.FindOptions{Sort: d("n", -1)}, "USING INDEX ix_2", "TEMP B-TREE"},
		{"id", d("_id", bson.NewObjectID()), docstore.FindOptions{}, "USING INDEX sqlite_autoindex", "SCAN"},
		{"id_sort", nil, docstore.FindOptions{Sort: d("_id", 1), Limit: 5}, "sqlite_autoindex", "TEMP B-TREE"},
		{"unindexed_sort", nil, docstore.FindOptions{Sort: d("u", -1), Limit: 20}, "TEMP B-TREE", "USING INDEX"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := s.QueryPlan(ctx, "items", tc.filter, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			text := strings.Join(plan, "\n")
			if !strings.Contains(text, tc.want) || strings.Contains(text, tc.unwant) {
				t.Errorf("plan:\n%s\nwant %q and no %q", text, tc.want, tc.unwant)
			}
			got, err := c.Find(ctx, tc.filter, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			want := matchAll(t, c, tc.filter, tc.opts)
			if !reflect.DeepEqual(ids(got), ids(want)) {
				t.Errorf("found %v\nwant %v", ids(got), ids(want))
			}
		})
	}
}

// matchAll is what the Go matcher and sortKey say Find should return.
func matchAll(t *testing.T, c docstore.Collection, filter bson.D, opts docstore.FindOptions) []bson.D {
	t.Helper()
	all, err := c.Find(context.Background(), nil, docstore.FindOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := newMatcher(filter)
	if err != nil {
		t.Fatal(err)
	}
	var out []bson.D
	for _, d := range all {
		if m.match(d) {
			out = append(out, d)
		}
	}
	sortDocs(out, opts.Sort)
	if opts.Skip > 0 {
		out = out[min(int(opts.Skip), len(out)):]
	}
	if opts.Limit > 0 && int(opts.Limit) < len(out) {
		out = out[:opts.Limit]
	}
	return out
}

func ids(ds []bson.D) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = fmt.Sprint(d[0].Value)
	}
	return out
}

// TestDeadlines checks that a call past its deadline, or cancelled, ends with the context's
// error, and that a running statement is interrupted.
func TestDeadlines(t *testing.T) {
	s := openTest(t, Options{Limits: docstore.Limits{CallTimeout: time.Minute}})
	c := s.Collection("items")
	if err := c.Insert(context.Background(), bson.D{{Key: "_id", Value: "a"}}); err != nil {
		t.Fatal(err)
	}
	done, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Find(done, nil, docstore.FindOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("find with a cancelled context: %v", err)
	}
	if err := c.Insert(done, bson.D{{Key: "_id", Value: "b"}}); !errors.Is(err, context.Canceled) {
		t.Errorf("insert with a cancelled context: %v", err)
	}
	if n, _ := c.Count(context.Background(), bson.D{}); n != 1 {
		t.Errorf("documents = %d after a cancelled insert, want 1", n)
	}

	// A statement that would run forever is interrupted at the deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	forever := `WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM r) SELECT count(*) FROM r`
	err := s.run(ctx, true, forever, nil, func(*sql.Rows) error { return nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("endless statement: %v, want DeadlineExceeded", err)
	}

	// The Limits deadline applies when the caller gives none.
	short := openTest(t, Options{Limits: docstore.Limits{CallTimeout: 50 * time.Millisecond}})
	if err := short.Collection("x").Insert(context.Background(), bson.D{{Key: "_id", Value: 1}}); err != nil {
		t.Fatal(err)
	}
	bctx, bcancel := short.limits.Bound(context.Background())
	defer bcancel()
	err = short.run(bctx, true, forever, nil, func(*sql.Rows) error { return nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("endless statement under Limits: %v, want DeadlineExceeded", err)
	}
}

// TestScanBound checks that unindexed queries wait for one of MaxConcurrentScans places, only
// until their deadline, while queries an index serves go ahead.
func TestScanBound(t *testing.T) {
	s := openTest(t, Options{Limits: docstore.Limits{MaxConcurrentScans: 1, CallTimeout: 100 * time.Millisecond}})
	ctx := context.Background()
	c := s.Collection("items")
	if err := c.Insert(ctx, bson.D{{Key: "_id", Value: "a"}, {Key: "n", Value: 1}}); err != nil {
		t.Fatal(err)
	}
	s.scans <- struct{}{} // a scan holds the only place
	if _, err := c.Find(ctx, bson.D{{Key: "n", Value: 1}}, docstore.FindOptions{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("scan while the place is taken: %v, want DeadlineExceeded", err)
	}
	if _, err := c.Count(ctx, bson.D{{Key: "n", Value: 2}}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("count while the place is taken: %v, want DeadlineExceeded", err)
	}
	if n, err := c.Count(ctx, bson.D{}); err != nil || n != 1 {
		t.Errorf("count of everything (no document read) while the place is taken: %d, %v", n, err)
	}
	if d, err := c.FindOne(ctx, bson.D{{Key: "_id", Value: "a"}}, docstore.FindOptions{}); err != nil || d == nil {
		t.Errorf("find by _id while the place is taken: %v", err)
	}
	<-s.scans
	if got, err := c.Find(ctx, bson.D{{Key: "n", Value: 1}}, docstore.FindOptions{}); err != nil || len(got) != 1 {
		t.Errorf("scan once the place is free: %v, %v", got, err)
	}
}

// TestIdleConnections checks that an idle store closes its connections.
func TestIdleConnections(t *testing.T) {
	s := openTest(t, Options{IdleTimeout: 100 * time.Millisecond})
	ctx := context.Background()
	c := s.Collection("items")
	if err := c.Insert(ctx, bson.D{{Key: "_id", Value: "a"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Find(ctx, nil, docstore.FindOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for s.rdb.Stats().OpenConnections+s.wdb.Stats().OpenConnections > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("connections still open: readers %+v, writer %+v", s.rdb.Stats(), s.wdb.Stats())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPageCache checks that a cached page of an unindexed sort never outlives a write to its
// collection, and that callers cannot change what it holds.
func TestPageCache(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	c := s.Collection("items")
	other := s.Collection("other")
	for i := range 30 {
		if err := c.Insert(ctx, bson.D{{Key: "_id", Value: fmt.Sprint(i)}, {Key: "n", Value: i}}); err != nil {
			t.Fatal(err)
		}
	}
	page := docstore.FindOptions{Sort: bson.D{{Key: "n", Value: -1}}, Limit: 3}
	top := func(want ...string) {
		t.Helper()
		got, err := c.Find(ctx, nil, page)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(ids(got)) != fmt.Sprint(want) {
			t.Fatalf("page %v, want %v", ids(got), want)
		}
		if len(got) > 0 {
			got[0][0].Value = "changed by the caller"
		}
	}
	top("29", "28", "27")
	top("29", "28", "27")
	if len(s.cache.entries) != 1 {
		t.Fatalf("cache entries = %d, want 1", len(s.cache.entries))
	}
	if err := other.Insert(ctx, bson.D{{Key: "_id", Value: "x"}, {Key: "n", Value: 1000}}); err != nil {
		t.Fatal(err)
	}
	top("29", "28", "27")
	if err := c.Insert(ctx, bson.D{{Key: "_id", Value: "new"}, {Key: "n", Value: 100}}); err != nil {
		t.Fatal(err)
	}
	top("new", "29", "28")
	if _, err := c.Update(ctx, bson.D{{Key: "_id", Value: "0"}}, docstore.Change{Set: bson.D{{Key: "n", Value: 50}}}); err != nil {
		t.Fatal(err)
	}
	top("new", "0", "29")
	if _, err := c.Replace(ctx, bson.D{{Key: "_id", Value: "1"}}, bson.D{{Key: "n", Value: 60}}); err != nil {
		t.Fatal(err)
	}
	top("new", "1", "0")
	if _, err := c.Delete(ctx, bson.D{{Key: "_id", Value: "new"}}); err != nil {
		t.Fatal(err)
	}
	top("1", "0", "29")
	if _, err := c.DeleteMany(ctx, bson.D{{Key: "n", Value: bson.D{{Key: "$gte", Value: 50}}}}); err != nil {
		t.Fatal(err)
	}
	top("29", "28", "27")
	if err := s.DropCollection(ctx, "items"); err != nil {
		t.Fatal(err)
	}
	top()
}

// TestPageCacheReadsOwnWrites has readers keep the first page of an unindexed sort cached
// while writers insert ever larger values: once an insert has returned, the writer's next
// read must include it, never a page cached from before its commit.
func TestPageCacheReadsOwnWrites(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	c := s.Collection("items")
	page := docstore.FindOptions{Sort: bson.D{{Key: "n", Value: -1}}, Limit: 1}
	if err := c.Insert(ctx, bson.D{{Key: "_id", Value: "seed"}, {Key: "n", Value: 0}}); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 4 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := c.Find(ctx, nil, page); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	var writers sync.WaitGroup
	for w := range 4 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for i := range 100 {
				n := (i+1)*4 + w
				if err := c.Insert(ctx, bson.D{{Key: "_id", Value: fmt.Sprint(n)}, {Key: "n", Value: n}}); err != nil {
					t.Error(err)
					return
				}
				got, err := c.Find(ctx, nil, page)
				if err != nil {
					t.Error(err)
					return
				}
				if top := got[0][1].Value.(int32); int(top) < n {
					t.Errorf("after inserting %d the top is %d", n, top)
					return
				}
			}
		}()
	}
	writers.Wait()
	close(stop)
	readers.Wait()
}
