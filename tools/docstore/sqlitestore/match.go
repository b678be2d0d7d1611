package sqlitestore

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/backpackhq/backpack/tools/docstore"
)

// This file is MongoDB's query semantics evaluated in Go on a decoded document. SQL runs
// every condition it can express (compile.go); this matcher runs the rest (paths that go
// through arrays, literal objects and arrays), and the tests hold the two to the same answers.

// Type classes in MongoDB's sort order.
const (
	classEmptyArray = 0
	classNull       = 1
	classNumber     = 2
	classString     = 3
	classObject     = 4
	classArray      = 5
	classObjectID   = 7
	classBool       = 8
	classDate       = 9
)

// normalize turns the Go types server code may put in a filter into the stored ones.
func normalize(v any) any {
	switch t := v.(type) {
	case int:
		if t >= math.MinInt32 && t <= math.MaxInt32 {
			return int32(t)
		}
		return int64(t)
	case time.Time:
		return bson.NewDateTimeFromTime(t)
	case bson.Null:
		return nil
	case []any:
		return bson.A(t)
	}
	return v
}

func classOf(v any) int {
	switch v.(type) {
	case nil:
		return classNull
	case int32, int64, float64:
		return classNumber
	case string:
		return classString
	case bson.D:
		return classObject
	case bson.A:
		return classArray
	case bson.ObjectID:
		return classObjectID
	case bool:
		return classBool
	case bson.DateTime:
		return classDate
	}
	return classObject
}

func toFloat(v any) float64 {
	switch t := v.(type) {
	case int32:
		return float64(t)
	case int64:
		return float64(t)
	case float64:
		return t
	}
	return 0
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpNumbers(a, b any) int {
	ai, aInt := asInt(a)
	bi, bInt := asInt(b)
	if aInt && bInt {
		return cmpInt(ai, bi)
	}
	af, bf := toFloat(a), toFloat(b)
	switch {
	case math.IsNaN(af) && math.IsNaN(bf):
		return 0
	case math.IsNaN(af):
		return -1
	case math.IsNaN(bf):
		return 1
	case af < bf:
		return -1
	case af > bf:
		return 1
	}
	return 0
}

func asInt(v any) (int64, bool) {
	switch t := v.(type) {
	case int32:
		return int64(t), true
	case int64:
		return t, true
	}
	return 0, false
}

// compareValues orders two values as MongoDB does.
func compareValues(a, b any) int {
	a, b = normalize(a), normalize(b)
	ca, cb := classOf(a), classOf(b)
	if ca != cb {
		return cmpInt(int64(ca), int64(cb))
	}
	switch ca {
	case classNumber:
		return cmpNumbers(a, b)
	case classString:
		return strings.Compare(a.(string), b.(string))
	case classObject:
		da, _ := a.(bson.D)
		db, _ := b.(bson.D)
		for i := 0; i < len(da) && i < len(db); i++ {
			if c := cmpInt(int64(classOf(da[i].Value)), int64(classOf(db[i].Value))); c != 0 {
				return c
			}
			if c := strings.Compare(da[i].Key, db[i].Key); c != 0 {
				return c
			}
			if c := compareValues(da[i].Value, db[i].Value); c != 0 {
				return c
			}
		}
		return cmpInt(int64(len(da)), int64(len(db)))
	case classArray:
		aa, ab := a.(bson.A), b.(bson.A)
		for i := 0; i < len(aa) && i < len(ab); i++ {
			if c := compareValues(aa[i], ab[i]); c != 0 {
				return c
			}
		}
		return cmpInt(int64(len(aa)), int64(len(ab)))
	case classObjectID:
		oa, ob := a.(bson.ObjectID), b.(bson.ObjectID)
		return bytes.Compare(oa[:], ob[:])
	case classBool:
		x, y := a.(bool), b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case classDate:
		return cmpInt(int64(a.(bson.DateTime)), int64(b.(bson.DateTime)))
	}
	return 0
}

// lookup collects the values path reaches in v, going through arrays of objects as MongoDB
// does; missing tells whether some branch did not have the field.
func lookup(v any, parts []string, out *[]any, missing *bool) {
	switch t := v.(type) {
	case bson.D:
		for _, e := range t {
			if e.Key == parts[0] {
				if len(parts) == 1 {
					*out = append(*out, normalize(e.Value))
				} else {
					lookup(normalize(e.Value), parts[1:], out, missing)
				}
				return
			}
		}
		*missing = true
	case bson.A:
		if i, err := strconv.Atoi(parts[0]); err == nil && i >= 0 && !strings.HasPrefix(parts[0], "+") {
			if i < len(t) {
				if len(parts) == 1 {
					*out = append(*out, normalize(t[i]))
				} else {
					lookup(normalize(t[i]), parts[1:], out, missing)
				}
			} else {
				*missing = true
			}
			return
		}
		// Only objects in the array take part: a scalar element or an empty array neither
		// holds the field nor lacks it (mongo's jstests/core/null2.js).
		for _, el := range t {
			if d, ok := el.(bson.D); ok {
				lookup(d, parts, out, missing)
			}
		}
	default:
		*missing = true
	}
}

// matcher is a filter ready to run on decoded documents.
type matcher interface {
	match(doc bson.D) bool
}

type andMatcher []matcher

func (m andMatcher) match(doc bson.D) bool {
	for _, x := range m {
		if !x.match(doc) {
			return false
		}
	}
	return true
}

type orMatcher []matcher

func (m orMatcher) match(doc bson.D) bool {
	for _, x := range m {
		if x.match(doc) {
			return true
		}
	}
	return false
}

// fieldMatcher is the conditions given for one field path, all of which must hold.
type fieldMatcher struct {
	parts []string
	ops   []opMatcher
}

// opMatcher is one operator with its operand; not holds the operators of a $not.
type opMatcher struct {
	op   string
	val  any
	list []any
	re   *regexp.Regexp
	not  []opMatcher
}

func (m *fieldMatcher) match(doc bson.D) bool {
	var vals []any
	missing := false
	lookup(doc, m.parts, &vals, &missing)
	for i := range m.ops {
		if !m.ops[i].eval(vals, missing) {
			return false
		}
	}
	return true
}

func (o *opMatcher) eval(vals []any, missing bool) bool {
	switch o.op {
	case "$eq":
		return eqAny(vals, missing, o.val)
	case "$ne":
		return !eqAny(vals, missing, o.val)
	case "$in":
		return inAny(vals, missing, o.list)
	case "$nin":
		return !inAny(vals, missing, o.list)
	case "$exists":
		return (len(vals) > 0) == o.val.(bool)
	case "$gt", "$gte", "$lt", "$lte":
		if o.val == nil {
			if o.op == "$gte" || o.op == "$lte" {
				return eqAny(vals, missing, nil)
			}
			return false
		}
		return anyElement(vals, func(v any) bool {
			if classOf(v) != classOf(o.val) {
				return false
			}
			c := compareValues(v, o.val)
			switch o.op {
			case "$gt":
				return c > 0
			case "$gte":
				return c >= 0
			case "$lt":
				return c < 0
			}
			return c <= 0
		})
	case "$regex":
		return anyElement(vals, func(v any) bool {
			s, ok := v.(string)
			return ok && o.re.MatchString(s)
		})
	case "$not":
		for i := range o.not {
			if !o.not[i].eval(vals, missing) {
				return true
			}
		}
		return false
	}
	return false
}

// anyElement tells whether f holds for a value or, for arrays, for the array or one of its
// elements.
func anyElement(vals []any, f func(any) bool) bool {
	for _, v := range vals {
		if f(v) {
			return true
		}
		if arr, ok := v.(bson.A); ok {
			for _, el := range arr {
				if f(normalize(el)) {
					return true
				}
			}
		}
	}
	return false
}

func eqAny(vals []any, missing bool, x any) bool {
	if x == nil && missing {
		return true
	}
	return anyElement(vals, func(v any) bool {
		return classOf(v) == classOf(x) && compareValues(v, x) == 0
	})
}

func inAny(vals []any, missing bool, list []any) bool {
	for _, x := range list {
		if eqAny(vals, missing, x) {
			return true
		}
	}
	return false
}

// newMatcher prepares a filter for the Go matcher.
func newMatcher(filter bson.D) (matcher, error) {
	out := andMatcher{}
	for _, e := range filter {
		switch e.Key {
		case "$and", "$or":
			arr, ok := normalize(e.Value).(bson.A)
			if !ok || len(arr) == 0 {
				return nil, invalidf("%s needs a non-empty array", e.Key)
			}
			subs := make([]matcher, 0, len(arr))
			for _, el := range arr {
				d, ok := el.(bson.D)
				if !ok {
					return nil, invalidf("%s needs filter objects", e.Key)
				}
				m, err := newMatcher(d)
				if err != nil {
					return nil, err
				}
				subs = append(subs, m)
			}
			if e.Key == "$and" {
				out = append(out, andMatcher(subs))
			} else {
				out = append(out, orMatcher(subs))
			}
		default:
			if strings.HasPrefix(e.Key, "$") {
				return nil, invalidf("operator %s is not supported", e.Key)
			}
			ops, err := fieldOps(e.Value)
			if err != nil {
				return nil, err
			}
			out = append(out, &fieldMatcher{parts: strings.Split(e.Key, "."), ops: ops})
		}
	}
	return out, nil
}

// isOperatorDoc tells whether a field's value is an operator object.
func isOperatorDoc(v any) (bson.D, bool) {
	d, ok := v.(bson.D)
	if !ok || len(d) == 0 {
		return nil, false
	}
	for _, e := range d {
		if !strings.HasPrefix(e.Key, "$") {
			return nil, false
		}
	}
	return d, true
}

// fieldOps prepares the operators given for a field: an operator object or a value to equal.
func fieldOps(v any) ([]opMatcher, error) {
	ops, ok := isOperatorDoc(v)
	if !ok {
		return []opMatcher{{op: "$eq", val: normalizeDeep(v)}}, nil
	}
	out := make([]opMatcher, 0, len(ops))
	options, hasOptions := lookupKey(ops, "$options")
	for _, e := range ops {
		o := opMatcher{op: e.Key}
		switch e.Key {
		case "$eq", "$ne", "$gt", "$gte", "$lt", "$lte":
			o.val = normalizeDeep(e.Value)
		case "$in", "$nin":
			arr, ok := normalize(e.Value).(bson.A)
			if !ok {
				return nil, invalidf("%s needs an array", e.Key)
			}
			for _, el := range arr {
				o.list = append(o.list, normalizeDeep(el))
			}
		case "$exists":
			b, ok := e.Value.(bool)
			if !ok {
				return nil, invalidf("$exists needs true or false")
			}
			o.val = b
		case "$regex":
			pattern, ok := e.Value.(string)
			if !ok {
				return nil, invalidf("$regex needs a string")
			}
			flags := ""
			if hasOptions {
				if flags, ok = options.(string); !ok {
					return nil, invalidf("$options needs a string")
				}
			}
			re, err := compileRegex(pattern, flags)
			if err != nil {
				return nil, err
			}
			o.re = re
		case "$options":
			if !hasRegex(ops) {
				return nil, invalidf("$options needs $regex")
			}
			continue
		case "$not":
			inner, ok := isOperatorDoc(e.Value)
			if !ok {
				return nil, invalidf("$not needs an operator object")
			}
			sub, err := fieldOps(inner)
			if err != nil {
				return nil, err
			}
			o.not = sub
		default:
			return nil, invalidf("operator %s is not supported", e.Key)
		}
		out = append(out, o)
	}
	return out, nil
}

func hasRegex(ops bson.D) bool {
	_, ok := lookupKey(ops, "$regex")
	return ok
}

func lookupKey(d bson.D, key string) (any, bool) {
	for _, e := range d {
		if e.Key == key {
			return e.Value, true
		}
	}
	return nil, false
}

// normalizeDeep normalizes a value and everything inside it.
func normalizeDeep(v any) any {
	switch t := normalize(v).(type) {
	case bson.D:
		out := make(bson.D, len(t))
		for i, e := range t {
			out[i] = bson.E{Key: e.Key, Value: normalizeDeep(e.Value)}
		}
		return out
	case bson.A:
		out := make(bson.A, len(t))
		for i, el := range t {
			out[i] = normalizeDeep(el)
		}
		return out
	default:
		return t
	}
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", docstore.ErrInvalidQuery, fmt.Sprintf(format, args...))
}

// compileRegex turns a MongoDB pattern and its $options into a Go regular expression.
func compileRegex(pattern, options string) (*regexp.Regexp, error) {
	prefix := ""
	for _, c := range options {
		switch c {
		case 'i', 'm', 's':
			if !strings.ContainsRune(prefix, c) {
				prefix += string(c)
			}
		case 'x':
			pattern = stripExtended(pattern)
		default:
			return nil, invalidf("$options flag %q is not supported", c)
		}
	}
	if prefix != "" {
		pattern = "(?" + prefix + ")" + pattern
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, invalidf("$regex: %v", err)
	}
	return re, nil
}

// stripExtended applies the x flag: unescaped whitespace and #-comments outside character
// classes are dropped.
func stripExtended(p string) string {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p):
			b.WriteByte(c)
			b.WriteByte(p[i+1])
			i++
		case inClass:
			if c == ']' {
				inClass = false
			}
			b.WriteByte(c)
		case c == '[':
			inClass = true
			b.WriteByte(c)
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
		case c == '#':
			for i < len(p) && p[i] != '\n' {
				i++
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// sortKey is the value a document sorts by on path, as a byte string that orders as MongoDB
// orders the values: an array sorts by its smallest element ascending and largest descending.
func sortKey(doc bson.D, path string, desc bool) []byte {
	var vals []any
	missing := false
	lookup(doc, strings.Split(path, "."), &vals, &missing)
	var best any
	have := false
	emptyArray := false
	consider := func(v any) {
		if !have {
			best, have = v, true
			return
		}
		c := compareValues(v, best)
		if (!desc && c < 0) || (desc && c > 0) {
			best = v
		}
	}
	for _, v := range vals {
		if arr, ok := v.(bson.A); ok {
			if len(arr) == 0 {
				emptyArray = true
			}
			for _, el := range arr {
				consider(normalize(el))
			}
			continue
		}
		consider(v)
	}
	if missing && (!have || !desc) {
		consider(nil)
	}
	if !have {
		if emptyArray {
			return []byte{classEmptyArray}
		}
		return []byte{classNull}
	}
	return appendKey(nil, best)
}

// appendKey writes a value's order-preserving key.
func appendKey(b []byte, v any) []byte {
	c := classOf(v)
	b = append(b, byte(c))
	switch t := v.(type) {
	case int32, int64, float64:
		f := toFloat(t)
		bits := math.Float64bits(f)
		if math.IsNaN(f) {
			bits = 0
		} else if bits>>63 == 1 {
			bits = ^bits
		} else {
			bits |= 1 << 63
		}
		return binary.BigEndian.AppendUint64(b, bits)
	case string:
		return append(b, t...)
	case bson.ObjectID:
		return append(b, t[:]...)
	case bool:
		if t {
			return append(b, 1)
		}
		return append(b, 0)
	case bson.DateTime:
		return binary.BigEndian.AppendUint64(b, uint64(t)^1<<63)
	case bson.D, bson.A:
		enc, err := appendValue(nil, t, 0)
		if err == nil {
			b = append(b, enc...)
		}
	}
	return b
}

// project keeps the fields of doc that paths name (and _id), in the document's order.
func project(doc bson.D, tree projection) bson.D {
	out := make(bson.D, 0, len(tree))
	for _, e := range doc {
		sub, ok := tree[e.Key]
		switch {
		case e.Key == "_id" && len(tree["_id"]) == 0:
			out = append(out, e)
		case !ok:
		case sub == nil:
			out = append(out, e)
		default:
			if v, ok := projectValue(e.Value, sub); ok {
				out = append(out, bson.E{Key: e.Key, Value: v})
			}
		}
	}
	return out
}

func projectValue(v any, tree projection) (any, bool) {
	switch t := v.(type) {
	case bson.D:
		return project(t, tree), true
	case bson.A:
		out := bson.A{}
		for _, el := range t {
			if pv, ok := projectValue(el, tree); ok {
				out = append(out, pv)
			}
		}
		return out, true
	}
	return nil, false
}

// projection is a tree of included paths; a nil subtree includes the whole field.
type projection map[string]projection

func newProjection(fields bson.D) projection {
	if len(fields) == 0 {
		return nil
	}
	tree := projection{}
	for _, f := range fields {
		node := tree
		parts := strings.Split(f.Key, ".")
		for i, p := range parts {
			sub, ok := node[p]
			if ok && sub == nil {
				break
			}
			if i == len(parts)-1 {
				node[p] = nil
				break
			}
			if !ok {
				sub = projection{}
				node[p] = sub
			}
			node = sub
		}
	}
	return tree
}
