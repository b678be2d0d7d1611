package docstoretest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/filter"
	"github.com/backpackhq/backpack/tools/jsondoc"
)

// DifferentialOptions shape a Differential run.
type DifferentialOptions struct {
	// Seed makes the run repeatable: the same seed generates the same documents and queries.
	Seed uint64
	// Docs and Queries are how many documents and queries are generated (defaults 60 and 400).
	Docs, Queries int
	// MaxReports caps the differences reported (default 20).
	MaxReports int
	// FerretDB keeps to what FerretDB v1.24, the stand-in for mongo:7, answers as MongoDB
	// does (the deviations the mongo engine's conformance run skips): no arrays inside
	// arrays, no object operands, no null, $ne, $nin or $not through dotted paths, no sorts on
	// dotted paths or on two keys. Without it every query shape is generated.
	FerretDB bool
}

// Differential compares two engines on generated data: it inserts the same documents of mixed
// types into a and b, then runs the same generated filters (through filter.Parse, as clients
// send them), sorts, pages and projections on both, and reports every query whose answers
// differ, with the documents involved. The suite states what MongoDB does case by case;
// Differential finds the cases nobody thought of. It returns the number of differences.
func Differential(t *testing.T, a, b docstore.Store, opts DifferentialOptions) int {
	t.Helper()
	if opts.Docs <= 0 {
		opts.Docs = 60
	}
	if opts.Queries <= 0 {
		opts.Queries = 400
	}
	if opts.MaxReports <= 0 {
		opts.MaxReports = 20
	}
	d := &differential{
		t: t, a: a, b: b, opts: opts,
		ca: a.Collection("differential"), cb: b.Collection("differential"),
		gen:  &generator{rnd: rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)), ferret: opts.FerretDB},
		byID: map[string]bson.D{},
	}
	for i := range opts.Docs {
		d.insert(d.gen.document(fmt.Sprintf("d%02d", i)))
	}
	for range opts.Docs / 2 {
		d.update()
	}
	for range opts.Queries {
		d.query()
	}
	if d.reports > opts.MaxReports {
		t.Errorf("%d more differences not shown", d.reports-opts.MaxReports)
	}
	return d.reports
}

// differential is one Differential run.
type differential struct {
	t       *testing.T
	a, b    docstore.Store
	ca, cb  docstore.Collection
	opts    DifferentialOptions
	gen     *generator
	byID    map[string]bson.D // the documents both engines hold
	reports int
}

// report records a difference, shown unless MaxReports are already.
func (d *differential) report(format string, args ...any) {
	d.t.Helper()
	d.reports++
	if d.reports <= d.opts.MaxReports {
		d.t.Errorf("%s vs %s, seed %d: "+format, append([]any{d.a.Engine(), d.b.Engine(), d.opts.Seed}, args...)...)
	}
}

// insert stores doc in both engines; one that only one engine takes is a difference, and is
// removed again so that both hold the same documents.
func (d *differential) insert(doc bson.D) {
	t := d.t
	errA, errB := d.ca.Insert(ctx(t), doc), d.cb.Insert(ctx(t), doc)
	switch {
	case errA == nil && errB == nil:
		d.byID[idString(doc[0].Value)] = doc
	case errA == nil || errB == nil:
		d.report("insert %s:\n  %s: %v\n  %s: %v", extJSON(doc), d.a.Engine(), errA, d.b.Engine(), errB)
		_, _ = d.ca.Delete(ctx(t), bson.D{doc[0]})
		_, _ = d.cb.Delete(ctx(t), bson.D{doc[0]})
	}
}

// update applies one generated change to a document in both engines and reports a
// difference in the documents they return, or in whether they refuse the change.
func (d *differential) update() {
	t, g := d.t, d.gen
	id := fmt.Sprintf("d%02d", g.rnd.IntN(d.opts.Docs))
	if _, ok := d.byID[id]; !ok {
		return
	}
	ch := g.change()
	what := fmt.Sprintf("update %s set %s push %s", id, extJSON(ch.Set), extJSON(ch.Push))
	gotA, errA := d.ca.Update(ctx(t), bson.D{{Key: "_id", Value: id}}, ch)
	gotB, errB := d.cb.Update(ctx(t), bson.D{{Key: "_id", Value: id}}, ch)
	switch {
	case (errA == nil) != (errB == nil):
		d.report("%s of %s:\n  %s: %v\n  %s: %v", what, extJSON(d.byID[id]), d.a.Engine(), errA, d.b.Engine(), errB)
	case errA == nil && extJSON(gotA) != extJSON(gotB):
		d.report("%s of %s:\n  %s gives %s\n  %s gives %s", what, extJSON(d.byID[id]), d.a.Engine(), extJSON(gotA), d.b.Engine(), extJSON(gotB))
	case errA == nil:
		d.byID[id] = gotA
		return
	default:
		return
	}
	// The engines now hold different documents: take it out of both.
	_, _ = d.ca.Delete(ctx(t), bson.D{{Key: "_id", Value: id}})
	_, _ = d.cb.Delete(ctx(t), bson.D{{Key: "_id", Value: id}})
	delete(d.byID, id)
}

// query runs one generated query on both engines and reports how their answers differ.
func (d *differential) query() {
	t, g := d.t, d.gen
	text := g.filterText()
	f, err := filter.Parse(text)
	if err != nil {
		t.Fatalf("generated filter %s: %v", text, err)
	}
	fo := docstore.FindOptions{Sort: g.sort()}
	if g.rnd.IntN(4) == 0 {
		fo.Skip, fo.Limit = int64(g.rnd.IntN(5)), int64(1+g.rnd.IntN(10))
	}
	if g.rnd.IntN(4) == 0 {
		fo.Projection = g.projection()
	}
	query := fmt.Sprintf("filter %s sort %s", text, extJSON(fo.Sort))
	if fo.Skip > 0 || fo.Limit > 0 {
		query += fmt.Sprintf(" skip %d limit %d", fo.Skip, fo.Limit)
	}
	if fo.Projection != nil {
		query += " projection " + extJSON(fo.Projection)
	}
	gotA, errA := d.ca.Find(ctx(t), f, fo)
	gotB, errB := d.cb.Find(ctx(t), f, fo)
	switch {
	case (errA == nil) != (errB == nil):
		d.report("%s:\n  %s: %v\n  %s: %v", query, d.a.Engine(), errA, d.b.Engine(), errB)
	case errA == nil && d.sameAnswers(query, fo, gotA, gotB):
		na, errA := d.ca.Count(ctx(t), f)
		nb, errB := d.cb.Count(ctx(t), f)
		if na != nb || (errA == nil) != (errB == nil) {
			d.report("count %s: %s %d (%v), %s %d (%v)", text, d.a.Engine(), na, errA, d.b.Engine(), nb, errB)
		}
	}
}

// sameAnswers compares what two Finds returned and reports the first difference: the
// documents only one engine matched, else two documents the engines order differently, else
// a document they return differently (projected, say).
func (d *differential) sameAnswers(query string, fo docstore.FindOptions, gotA, gotB []bson.D) bool {
	nameA, nameB := d.a.Engine(), d.b.Engine()
	idsA, idsB := ids(gotA), ids(gotB)
	onlyA, onlyB := difference(idsA, idsB), difference(idsB, idsA)
	if fo.Skip == 0 && fo.Limit == 0 && (len(onlyA) > 0 || len(onlyB) > 0) {
		d.report("%s:\n  only %s matches %q, only %s matches %q; documents:\n%s",
			query, nameA, onlyA, nameB, onlyB, d.documents(onlyA, onlyB))
		return false
	}
	if !slices.Equal(idsA, idsB) {
		i := 0
		for i < len(idsA) && i < len(idsB) && idsA[i] == idsB[i] {
			i++
		}
		if i == len(idsA) || i == len(idsB) || !slices.Contains(idsA, idsB[i]) || !slices.Contains(idsB, idsA[i]) {
			d.report("%s:\n  the pages differ: %s gives %q, %s gives %q", query, nameA, idsA, nameB, idsB)
			return false
		}
		x, y := idsA[i], idsB[i]
		d.report("%s:\n  %s puts %s before %s, %s the other way; documents:\n%s",
			query, nameA, x, y, nameB, d.documents([]string{x, y}))
		return false
	}
	for i := range gotA {
		if ea, eb := extJSON(gotA[i]), extJSON(gotB[i]); ea != eb {
			d.report("%s:\n  %s returned %s\n  %s returned %s", query, nameA, ea, nameB, eb)
			return false
		}
	}
	return true
}

// documents renders the first few stored documents of some _ids, to show a difference.
func (d *differential) documents(idLists ...[]string) string {
	var out []string
	seen := map[string]bool{}
	for _, list := range idLists {
		for _, id := range list {
			if !seen[id] && len(out) < 6 {
				seen[id] = true
				out = append(out, "    "+extJSON(d.byID[id]))
			}
		}
	}
	return strings.Join(out, "\n")
}

// difference lists the items of a not in b.
func difference(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// generator makes documents and queries from small pools of values, so that filters often
// hit stored values and every type meets every other.
type generator struct {
	rnd    *rand.Rand
	ferret bool // see DifferentialOptions.FerretDB
}

var (
	diffObjectIDs = []bson.ObjectID{
		{0x65, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
		{0x65, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2},
	}
	diffStrings = []string{"", "a", "B", "ab", "5", "é", "a b"}
	diffFloats  = []float64{-1.5, 0, 2, 2.5, 3, 1e15}
	// diffPaths are the field paths queries and sorts use: top-level fields of any type,
	// and paths into objects and arrays of objects.
	diffPaths  = []string{"n", "s", "t", "o", "o.k", "o.m", "t.k", "t.0"}
	diffSorted = []string{"n", "s", "t", "o", "o.k", "t.k"}
	// diffProjected leaves out "t.0": a projection does not index arrays.
	diffProjected = []string{"n", "s", "t", "o", "o.k", "t.k"}
	diffRegexp    = []string{"^a", "a", "^$", "5", "b$", "^.$", "é"}
)

// scalar is a random scalar of any stored type.
func (g *generator) scalar() any {
	switch g.rnd.IntN(10) {
	case 0:
		return nil
	case 1, 2:
		return int32(g.rnd.IntN(6) - 2)
	case 3:
		return []int64{3, 1 << 40, -7}[g.rnd.IntN(3)]
	case 4:
		return diffFloats[g.rnd.IntN(len(diffFloats))]
	case 5, 6:
		return diffStrings[g.rnd.IntN(len(diffStrings))]
	case 7:
		return g.rnd.IntN(2) == 0
	case 8:
		return diffObjectIDs[g.rnd.IntN(len(diffObjectIDs))]
	default:
		return bson.DateTime(int64(g.rnd.IntN(3)-1) * 86_400_000)
	}
}

// value is a random value: mostly scalars, sometimes arrays and objects.
func (g *generator) value(depth int) any {
	if depth >= 2 {
		return g.scalar()
	}
	switch g.rnd.IntN(8) {
	case 0, 1:
		arr := bson.A{}
		for range g.rnd.IntN(4) {
			if v := g.value(depth + 1); !g.ferret || !isArray(v) {
				arr = append(arr, v)
			}
		}
		return arr
	case 2:
		obj := bson.D{}
		for _, k := range []string{"k", "m"} {
			if g.rnd.IntN(3) > 0 {
				obj = append(obj, bson.E{Key: k, Value: g.value(depth + 1)})
			}
		}
		return obj
	default:
		return g.scalar()
	}
}

func isArray(v any) bool {
	_, ok := v.(bson.A)
	return ok
}

// document is a document with some of the fields n, s, t and o, each of any type.
func (g *generator) document(id string) bson.D {
	d := bson.D{{Key: "_id", Value: id}}
	for _, k := range []string{"n", "s", "t", "o"} {
		if g.rnd.IntN(5) > 0 {
			d = append(d, bson.E{Key: k, Value: g.value(0)})
		}
	}
	return d
}

// operand is a value a client can spell in JSON: no ObjectIDs or dates (and, for FerretDB,
// no objects).
func (g *generator) operand(depth int) any {
	for {
		if v, ok := g.spellable(g.value(depth)); ok {
			return v
		}
	}
}

// spellable drops from v what an operand may not hold; false when v itself may not be one.
func (g *generator) spellable(v any) (any, bool) {
	switch t := v.(type) {
	case bson.ObjectID, bson.DateTime:
		return nil, false
	case bson.A:
		out := bson.A{}
		for _, e := range t {
			if e, ok := g.spellable(e); ok {
				out = append(out, e)
			}
		}
		return out, true
	case bson.D:
		if g.ferret {
			return nil, false
		}
		out := bson.D{}
		for _, e := range t {
			if v, ok := g.spellable(e.Value); ok {
				out = append(out, bson.E{Key: e.Key, Value: v})
			}
		}
		return out, true
	}
	return v, true
}

// condition is the filter on one path: a literal or an operator object. For FerretDB, a
// dotted path gets no null operand and no negation.
func (g *generator) condition(path string) any {
	if g.ferret && strings.Contains(path, ".") {
		for {
			c := g.condition("")
			if !mentionsNull(c) && !negates(c) {
				return c
			}
		}
	}
	switch g.rnd.IntN(13) {
	case 0:
		return g.operand(0)
	case 1, 2, 3, 4, 5, 6:
		op := []string{"$eq", "$ne", "$gt", "$gte", "$lt", "$lte"}[g.rnd.IntN(6)]
		return bson.D{{Key: op, Value: g.operand(0)}}
	case 7:
		op := []string{"$in", "$nin"}[g.rnd.IntN(2)]
		list := bson.A{}
		for range 1 + g.rnd.IntN(3) {
			list = append(list, g.operand(1))
		}
		return bson.D{{Key: op, Value: list}}
	case 8:
		return bson.D{{Key: "$exists", Value: g.rnd.IntN(2) == 0}}
	case 9:
		return g.regex()
	case 10:
		lo, hi := []string{"$gt", "$gte"}[g.rnd.IntN(2)], []string{"$lt", "$lte"}[g.rnd.IntN(2)]
		return bson.D{{Key: lo, Value: g.operand(2)}, {Key: hi, Value: g.operand(2)}}
	default:
		var inner bson.D
		if g.rnd.IntN(3) == 0 {
			inner = g.regex()
		} else {
			op := []string{"$eq", "$gt", "$lte", "$in"}[g.rnd.IntN(4)]
			v := g.operand(1)
			if op == "$in" {
				v = bson.A{v, g.operand(1)}
			}
			inner = bson.D{{Key: op, Value: v}}
		}
		return bson.D{{Key: "$not", Value: inner}}
	}
}

// mentionsNull tells whether a condition holds null anywhere.
func mentionsNull(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case bson.A:
		return slices.ContainsFunc(t, mentionsNull)
	case bson.D:
		return slices.ContainsFunc(t, func(e bson.E) bool { return mentionsNull(e.Value) })
	}
	return false
}

// negates tells whether a condition is $ne, $nin or $not.
func negates(v any) bool {
	d, ok := v.(bson.D)
	return ok && slices.ContainsFunc(d, func(e bson.E) bool { return e.Key == "$ne" || e.Key == "$nin" || e.Key == "$not" })
}

// regex is a $regex condition, sometimes with the i flag.
func (g *generator) regex() bson.D {
	r := bson.D{{Key: "$regex", Value: diffRegexp[g.rnd.IntN(len(diffRegexp))]}}
	if g.rnd.IntN(3) == 0 {
		r = append(r, bson.E{Key: "$options", Value: "i"})
	}
	return r
}

// clause is a filter on one or two paths.
func (g *generator) clause() bson.D {
	d := bson.D{}
	for range 1 + g.rnd.IntN(2) {
		path := diffPaths[g.rnd.IntN(len(diffPaths))]
		if !slices.ContainsFunc(d, func(e bson.E) bool { return e.Key == path }) {
			d = append(d, bson.E{Key: path, Value: g.condition(path)})
		}
	}
	return d
}

// filterText is a generated filter as the JSON text a client sends.
func (g *generator) filterText() string {
	var f bson.D
	switch g.rnd.IntN(6) {
	case 0:
		f = bson.D{{Key: []string{"$and", "$or"}[g.rnd.IntN(2)], Value: bson.A{g.clause(), g.clause()}}}
	case 1:
		f = bson.D{}
	default:
		f = g.clause()
	}
	b, err := jsondoc.Marshal(f)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// sort is up to two generated keys (one for FerretDB, which does not refuse two keys that
// are both arrays in a document), then _id, so that the order is fully specified.
func (g *generator) sort() bson.D {
	s := bson.D{}
	keys := 3
	if g.ferret {
		keys = 2
	}
	for range g.rnd.IntN(keys) {
		path := diffSorted[g.rnd.IntN(len(diffSorted))]
		if g.ferret && strings.Contains(path, ".") {
			continue
		}
		if !slices.ContainsFunc(s, func(e bson.E) bool { return e.Key == path }) {
			s = append(s, bson.E{Key: path, Value: 1 - 2*g.rnd.IntN(2)})
		}
	}
	return append(s, bson.E{Key: "_id", Value: 1 - 2*g.rnd.IntN(2)})
}

// change sets one to three fields, top-level or dotted (into objects that may not exist, or
// may be something else), and sometimes pushes onto t (no array, for FerretDB: it would nest).
func (g *generator) change() docstore.Change {
	var ch docstore.Change
	for range 1 + g.rnd.IntN(3) {
		path := []string{"n", "s", "z", "a", "o.k", "o.m", "p.q"}[g.rnd.IntN(7)]
		if !slices.ContainsFunc(ch.Set, func(e bson.E) bool {
			return e.Key == path || strings.HasPrefix(path, e.Key+".") || strings.HasPrefix(e.Key, path+".")
		}) {
			ch.Set = append(ch.Set, bson.E{Key: path, Value: g.value(1)})
		}
	}
	if g.rnd.IntN(3) == 0 {
		v := g.value(1)
		for g.ferret && isArray(v) {
			v = g.value(1)
		}
		ch.Push = bson.D{{Key: "t", Value: v}}
	}
	return ch
}

// projection is one or two generated fields.
func (g *generator) projection() bson.D {
	first := diffProjected[g.rnd.IntN(len(diffProjected))]
	p := bson.D{{Key: first, Value: 1}}
	if second := []string{"n", "s", "t"}[g.rnd.IntN(3)]; !strings.HasPrefix(first, second) {
		p = append(p, bson.E{Key: second, Value: 1})
	}
	return p
}
