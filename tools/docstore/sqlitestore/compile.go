package sqlitestore

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"go.mongodb.org/mongo-driver/v2/bson"
	"modernc.org/sqlite"

	"github.com/backpackhq/backpack/tools/docstore"
)

// A filter on a field that no document of the collection has ever held an array on (nor on
// any prefix of its path) is compiled to SQL over two expressions per path:
//
//	typeExpr: the value's MongoDB type class (1 null or missing, 2 number, 3 string, 4 object,
//	          5 array, 7 ObjectID, 8 bool, 9 date), so that comparisons stay within a class
//	          and sorts follow MongoDB's type order;
//	valueExpr: ifnull(json_extract(doc, path), 0), the value itself (an ObjectID or a date as
//	          the text of its wrapper object, which orders as the value does).
//
// An index on a field is an expression index on exactly these two expressions, so equality
// (typeExpr = K AND valueExpr = ?), ranges and ORDER BY typeExpr, valueExpr all use it. A
// field some document holds an array on needs MongoDB's element-wise semantics: when the array
// is at the path itself, SQL tests the value and each element (json_each); when it is further
// up the path (an array of objects), the Go matcher (match.go) decides through the bp_match
// SQL function, as it does for literal objects and arrays and for paths SQLite's JSON path
// syntax cannot spell. Sorts on such paths use bp_sortkey.

// SQL functions the engine registers with the driver.
const (
	fnMatch    = "bp_match"    // bp_match(id, doc): the Go matcher registered under id
	fnRegex    = "bp_regex"    // bp_regex(id, text): the regular expression registered under id
	fnSortKey  = "bp_sortkey"  // bp_sortkey(doc, path, desc): sortKey
	fnParallel = "bp_parallel" // bp_parallel(doc, paths...): 1, or an error when two paths meet arrays
)

// queryObjects holds the matchers and regular expressions of running queries, by id.
var (
	queryObjects sync.Map
	nextObjectID atomic.Int64
	registerOnce sync.Once
)

func registerFunctions() {
	registerOnce.Do(func() {
		sqlite.MustRegisterFunction(fnMatch, &sqlite.FunctionImpl{NArgs: 2, VolatileArgs: true, Scalar: func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			m, ok := lookupObject(args[0]).(matcher)
			doc, isBlob := args[1].([]byte)
			if !ok || !isBlob {
				return nil, errors.New("bp_match: bad arguments")
			}
			d, err := decodeDoc(doc)
			if err != nil {
				return nil, err
			}
			return boolInt(m.match(d)), nil
		}})
		sqlite.MustRegisterFunction(fnRegex, &sqlite.FunctionImpl{NArgs: 2, VolatileArgs: true, Scalar: func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			re, ok := lookupObject(args[0]).(interface{ MatchString(string) bool })
			if !ok {
				return nil, errors.New("bp_regex: bad arguments")
			}
			s, ok := args[1].(string)
			return boolInt(ok && re.MatchString(s)), nil
		}})
		sqlite.MustRegisterFunction(fnParallel, &sqlite.FunctionImpl{NArgs: -1, Deterministic: true, VolatileArgs: true, Scalar: func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			doc, ok := args[0].([]byte)
			if !ok {
				return nil, errors.New("bp_parallel: bad arguments")
			}
			d, err := decodeDoc(doc)
			if err != nil {
				return nil, err
			}
			arrays := 0
			for _, p := range args[1:] {
				path, _ := p.(string)
				if _, met := sortKeyArrays(d, path, false); met {
					arrays++
				}
			}
			if arrays > 1 {
				return nil, errParallel
			}
			return int64(1), nil
		}})
		sqlite.MustRegisterFunction(fnSortKey, &sqlite.FunctionImpl{NArgs: 3, Deterministic: true, VolatileArgs: true, Scalar: func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			doc, ok1 := args[0].([]byte)
			path, ok2 := args[1].(string)
			desc, ok3 := args[2].(int64)
			if !ok1 || !ok2 || !ok3 {
				return nil, errors.New("bp_sortkey: bad arguments")
			}
			if key, ok := fastSortKey(doc, path); ok {
				return key, nil
			}
			d, err := decodeDoc(doc)
			if err != nil {
				return nil, err
			}
			return sortKey(d, path, desc != 0), nil
		}})
	})
}

func lookupObject(id driver.Value) any {
	n, ok := id.(int64)
	if !ok {
		return nil
	}
	v, _ := queryObjects.Load(n)
	return v
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// errParallel is bp_parallel's error: MongoDB refuses to sort a document on two keys that
// are both arrays in it.
var errParallel = errors.New("cannot sort with keys that are parallel arrays")

// errFallback tells the compiler to leave a field's conditions to the Go matcher.
var errFallback = errors.New("needs the Go matcher")

// compiler turns one filter and sort into SQL for one collection's current shape.
type compiler struct {
	arrays  map[string]bool // paths some document holds an array on
	indexed map[string]bool // leading fields of the collection's indexes
	args    []any
	objects []int64
	// guard is a condition on the matching rows that the sort adds (bp_parallel).
	guard string
	// served tells whether an index serves the query (a condition on an indexed field at the
	// top level, or a sort on one).
	served bool
	// hoisted names the column that holds json_extract(doc, path) for the paths a scan
	// computes once per row (scan.go); the others are read from doc wherever they are used.
	hoisted map[string]string
	// pinned are the hoisted paths whose type class the filter fixes (scan.go): the sort
	// leaves their class out.
	pinned map[string]bool
}

// release forgets the query's registered objects.
func (c *compiler) release() {
	for _, id := range c.objects {
		queryObjects.Delete(id)
	}
	c.objects = nil
}

func (c *compiler) register(v any) int64 {
	id := nextObjectID.Add(1)
	queryObjects.Store(id, v)
	c.objects = append(c.objects, id)
	return id
}

func (c *compiler) arg(v any) string {
	c.args = append(c.args, v)
	return "?"
}

// sqlString quotes s as an SQL string literal.
func sqlString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// quoteIdent quotes an SQL identifier.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// jsonPath spells a dotted field path in SQLite's JSON path syntax, or says it cannot.
func jsonPath(path string, suffix ...string) (string, bool) {
	var b strings.Builder
	b.WriteByte('$')
	for _, p := range append(strings.Split(path, "."), suffix...) {
		if p == "" || strings.ContainsAny(p, "\"\x00") {
			return "", false
		}
		b.WriteString(`."`)
		b.WriteString(p)
		b.WriteByte('"')
	}
	return sqlString(b.String()), true
}

// addressable tells whether SQL can reach path.
func addressable(path string) bool {
	_, ok := jsonPath(path)
	return ok
}

// typeExpr is the SQL expression of the MongoDB type class of the value at path.
func typeExpr(path string) string {
	jp, _ := jsonPath(path)
	oid, _ := jsonPath(path, keyOID)
	date, _ := jsonPath(path, keyDate)
	return "(CASE json_type(doc," + jp + ") WHEN 'integer' THEN 2 WHEN 'real' THEN 2 WHEN 'text' THEN 3" +
		" WHEN 'true' THEN 8 WHEN 'false' THEN 8 WHEN 'array' THEN 5 WHEN 'object' THEN" +
		" (CASE WHEN json_type(doc," + oid + ") IS NOT NULL THEN 7 WHEN json_type(doc," + date + ") IS NOT NULL THEN 9 ELSE 4 END)" +
		" ELSE 1 END)"
}

// valueExpr is the SQL expression of the value at path (never NULL).
func valueExpr(path string) string {
	jp, _ := jsonPath(path)
	return "ifnull(json_extract(doc," + jp + "),0)"
}

// indexExprs are the expressions an index on field (with its "-" for descending) covers.
func indexExprs(field string) ([]string, error) {
	path, desc := docstore.IndexField(field)
	dir := ""
	if desc {
		dir = " DESC"
	}
	if path == "_id" {
		return []string{"id" + dir}, nil
	}
	if !addressable(path) {
		return nil, invalidf("field %q cannot be indexed", path)
	}
	return []string{typeExpr(path) + dir, valueExpr(path) + dir}, nil
}

// onArray tells whether path, or a prefix of it, is a path some document holds an array on.
func (c *compiler) onArray(path string) bool {
	if len(c.arrays) == 0 {
		return false
	}
	for i := 0; i <= len(path); i++ {
		if (i == len(path) || path[i] == '.') && c.arrays[path[:i]] {
			return true
		}
	}
	return false
}

// onArrayPrefix tells whether a proper prefix of path is a path some document holds an array on.
func (c *compiler) onArrayPrefix(path string) bool {
	for i := 0; i < len(path); i++ {
		if path[i] == '.' && c.arrays[path[:i]] {
			return true
		}
	}
	return false
}

// filter compiles a filter document; top is set for the filter's own top level, whose
// conditions all must hold (where an index can serve one of them).
func (c *compiler) filter(f bson.D, top bool) (string, error) {
	if len(f) == 0 {
		return "1", nil
	}
	parts := make([]string, 0, len(f))
	for _, e := range f {
		var s string
		var err error
		switch e.Key {
		case "$and", "$or":
			s, err = c.logical(e.Key, e.Value)
		default:
			if strings.HasPrefix(e.Key, "$") {
				return "", invalidf("operator %s is not supported", e.Key)
			}
			s, err = c.field(e.Key, normalize(e.Value), top)
		}
		if err != nil {
			return "", err
		}
		parts = append(parts, s)
	}
	if len(parts) == 1 {
		return parts[0], nil
	}
	return "(" + strings.Join(parts, " AND ") + ")", nil
}

func (c *compiler) logical(op string, v any) (string, error) {
	arr, ok := normalize(v).(bson.A)
	if !ok || len(arr) == 0 {
		return "", invalidf("%s needs a non-empty array of filters", op)
	}
	parts := make([]string, 0, len(arr))
	for _, el := range arr {
		d, ok := el.(bson.D)
		if !ok {
			return "", invalidf("%s needs filter objects", op)
		}
		s, err := c.filter(d, op == "$and" && len(arr) == 1)
		if err != nil {
			return "", err
		}
		parts = append(parts, s)
	}
	join := " OR "
	if op == "$and" {
		join = " AND "
	}
	return "(" + strings.Join(parts, join) + ")", nil
}

// field compiles the conditions on one field path.
func (c *compiler) field(path string, v any, top bool) (string, error) {
	ops, isOps := isOperatorDoc(v)
	if !isOps {
		ops = bson.D{{Key: "$eq", Value: v}}
	}
	leafArray := addressable(path) && c.onArray(path) && !c.onArrayPrefix(path)
	if path == "_id" || (addressable(path) && !c.onArray(path)) || leafArray {
		mark, served := len(c.args), c.served
		var s string
		var err error
		switch {
		case path == "_id":
			s, err = c.idOps(ops, top)
		case leafArray:
			s, err = c.arrayOps(path, ops)
		default:
			s, err = c.scalarOps(path, ops, top)
		}
		if err == nil {
			return s, nil
		}
		if !errors.Is(err, errFallback) {
			return "", err
		}
		c.args, c.served = c.args[:mark], served
	}
	ms, err := fieldOps(v)
	if err != nil {
		return "", err
	}
	id := c.register(&fieldMatcher{parts: strings.Split(path, "."), ops: ms})
	return fnMatch + "(" + c.arg(id) + ",doc)", nil
}

// regexFor compiles the $regex of an operator object with its $options.
func regexFor(ops bson.D, pattern any) (any, error) {
	p, ok := pattern.(string)
	if !ok {
		return nil, invalidf("$regex needs a string")
	}
	flags := ""
	if o, ok := lookupKey(ops, "$options"); ok {
		if flags, ok = o.(string); !ok {
			return nil, invalidf("$options needs a string")
		}
	}
	return compileRegex(p, flags)
}

func (c *compiler) scalarOps(path string, ops bson.D, top bool) (string, error) {
	parts := make([]string, 0, len(ops))
	for _, e := range ops {
		var s string
		var err error
		val := normalize(e.Value)
		switch e.Key {
		case "$eq":
			s, err = c.scalarEq(path, val)
			c.serve(top, path, err)
		case "$ne":
			s, err = c.scalarEq(path, val)
			s = "NOT " + s
		case "$in", "$nin":
			s, err = c.scalarIn(path, val)
			if e.Key == "$nin" {
				s = "NOT " + s
			} else {
				c.serve(top, path, err)
			}
		case "$gt", "$gte", "$lt", "$lte":
			s, err = c.scalarRange(path, e.Key, val)
			c.serve(top, path, err)
		case "$exists":
			b, ok := val.(bool)
			if !ok {
				return "", invalidf("$exists needs true or false")
			}
			jp, _ := jsonPath(path)
			s = "(json_type(doc," + jp + ") IS NOT NULL)"
			if !b {
				s = "(json_type(doc," + jp + ") IS NULL)"
			}
		case "$regex":
			re, rerr := regexFor(ops, val)
			if rerr != nil {
				return "", rerr
			}
			s = "(" + c.typeOf(path) + "=3 AND " + fnRegex + "(" + c.arg(c.register(re)) + "," + c.valueOf(path) + "))"
		case "$options":
			if !hasRegex(ops) {
				return "", invalidf("$options needs $regex")
			}
			continue
		case "$not":
			inner, ok := isOperatorDoc(val)
			if !ok {
				return "", invalidf("$not needs an operator object")
			}
			s, err = c.scalarOps(path, inner, false)
			s = "NOT " + s
		default:
			return "", invalidf("operator %s is not supported", e.Key)
		}
		if err != nil {
			return "", err
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "1", nil
	}
	return "(" + strings.Join(parts, " AND ") + ")", nil
}

// serve records that an index serves a top-level condition on path.
func (c *compiler) serve(top bool, path string, err error) {
	if top && err == nil && c.indexed[path] {
		c.served = true
	}
}

// sqlParam is the SQL value valueExpr gives for v, with v's class; errFallback for values SQL
// does not compare (objects, arrays, NaN).
func sqlParam(v any) (any, int, error) {
	switch t := v.(type) {
	case int32:
		return int64(t), classNumber, nil
	case int64:
		return t, classNumber, nil
	case float64:
		if t != t {
			return nil, 0, errFallback
		}
		return t, classNumber, nil
	case string:
		return t, classString, nil
	case bool:
		return boolInt(t), classBool, nil
	case bson.ObjectID:
		return wrapperText(keyOID, t.Hex()), classObjectID, nil
	case bson.DateTime:
		return wrapperText(keyDate, formatDate(t)), classDate, nil
	}
	return nil, 0, errFallback
}

func (c *compiler) scalarEq(path string, v any) (string, error) {
	if v == nil {
		return "(" + c.typeOf(path) + "=1)", nil
	}
	p, class, err := sqlParam(v)
	if err != nil {
		return "", err
	}
	return c.classAnd(path, class, c.valueOf(path)+"="+c.arg(p)), nil
}

func (c *compiler) scalarIn(path string, v any) (string, error) {
	arr, ok := v.(bson.A)
	if !ok {
		return "", invalidf("$in and $nin need an array")
	}
	byClass := map[int][]any{}
	var classes []int
	null := false
	for _, el := range arr {
		el = normalize(el)
		if el == nil {
			null = true
			continue
		}
		p, class, err := sqlParam(el)
		if err != nil {
			return "", err
		}
		if _, seen := byClass[class]; !seen {
			classes = append(classes, class)
		}
		byClass[class] = append(byClass[class], p)
	}
	var parts []string
	if null {
		parts = append(parts, "("+c.typeOf(path)+"=1)")
	}
	for _, class := range classes {
		marks := make([]string, len(byClass[class]))
		for i, p := range byClass[class] {
			marks[i] = c.arg(p)
		}
		parts = append(parts, fmt.Sprintf("(%s=%d AND %s IN (%s))", c.typeOf(path), class, c.valueOf(path), strings.Join(marks, ",")))
	}
	if len(parts) == 0 {
		return "(0)", nil
	}
	return "(" + strings.Join(parts, " OR ") + ")", nil
}

var rangeOps = map[string]string{"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}

func (c *compiler) scalarRange(path, op string, v any) (string, error) {
	if v == nil {
		if op == "$gte" || op == "$lte" {
			return "(" + c.typeOf(path) + "=1)", nil
		}
		return "(0)", nil
	}
	p, class, err := sqlParam(v)
	if err != nil {
		return "", err
	}
	return c.classAnd(path, class, c.valueOf(path)+rangeOps[op]+c.arg(p)), nil
}

// idParam is the id column's value for an _id, and its class; ok is false for values no
// stored _id can have.
func idParam(v any) (any, int, bool) {
	switch t := v.(type) {
	case string:
		return t, classString, true
	case bson.ObjectID:
		return t[:], classObjectID, true
	case int32:
		return int64(t), classNumber, true
	case int64:
		return t, classNumber, true
	case float64:
		if t != t {
			return nil, 0, false
		}
		return t, classNumber, true
	}
	return nil, 0, false
}

// idOps compiles conditions on _id, which lives in the id column: numbers sort before text
// (strings) before blobs (ObjectIDs) in SQLite as in MongoDB.
func (c *compiler) idOps(ops bson.D, top bool) (string, error) {
	parts := make([]string, 0, len(ops))
	for _, e := range ops {
		val := normalize(e.Value)
		var s string
		switch e.Key {
		case "$eq", "$ne":
			p, _, ok := idParam(val)
			if _, isDoc := val.(bson.D); isDoc {
				return "", errFallback
			}
			s = "(0)"
			if ok {
				s = "(id=" + c.arg(p) + ")"
			}
			if e.Key == "$ne" {
				s = "NOT " + s
			} else if top {
				c.served = true
			}
		case "$in", "$nin":
			arr, ok := val.(bson.A)
			if !ok {
				return "", invalidf("$in and $nin need an array")
			}
			var marks []string
			for _, el := range arr {
				el = normalize(el)
				if _, isDoc := el.(bson.D); isDoc {
					return "", errFallback
				}
				if p, _, ok := idParam(el); ok {
					marks = append(marks, c.arg(p))
				}
			}
			s = "(0)"
			if len(marks) > 0 {
				s = "(id IN (" + strings.Join(marks, ",") + "))"
			}
			if e.Key == "$nin" {
				s = "NOT " + s
			} else if top {
				c.served = true
			}
		case "$gt", "$gte", "$lt", "$lte":
			p, class, ok := idParam(val)
			if _, isDoc := val.(bson.D); isDoc {
				return "", errFallback
			}
			s = "(0)"
			if ok {
				s = "(id" + rangeOps[e.Key] + c.arg(p)
				up := e.Key == "$gt" || e.Key == "$gte"
				switch {
				case class == classNumber && up:
					s += " AND id<''"
				case class == classString && up:
					s += " AND id<x''"
				case class == classString && !up:
					s += " AND id>=''"
				case class == classObjectID && !up:
					s += " AND id>=x''"
				}
				s += ")"
				if top {
					c.served = true
				}
			}
		case "$exists":
			b, ok := val.(bool)
			if !ok {
				return "", invalidf("$exists needs true or false")
			}
			s = "(" + fmt.Sprint(boolInt(b)) + ")"
		case "$regex":
			re, err := regexFor(ops, val)
			if err != nil {
				return "", err
			}
			s = "(typeof(id)='text' AND " + fnRegex + "(" + c.arg(c.register(re)) + ",id))"
		case "$options":
			if !hasRegex(ops) {
				return "", invalidf("$options needs $regex")
			}
			continue
		case "$not":
			inner, ok := isOperatorDoc(val)
			if !ok {
				return "", invalidf("$not needs an operator object")
			}
			sub, err := c.idOps(inner, false)
			if err != nil {
				return "", err
			}
			s = "NOT " + sub
		default:
			return "", invalidf("operator %s is not supported", e.Key)
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "(1)", nil
	}
	return "(" + strings.Join(parts, " AND ") + ")", nil
}

// orderBy compiles a sort: scalar paths on typeExpr and valueExpr (which an index on the
// first field serves), paths that meet arrays on bp_sortkey.
func (c *compiler) orderBy(sort bson.D) (string, error) {
	if len(sort) == 0 {
		return "", nil
	}
	parts := make([]string, 0, 2*len(sort))
	for i, e := range sort {
		desc := false
		switch normalize(e.Value) {
		case int32(1), int64(1), float64(1):
		case int32(-1), int64(-1), float64(-1):
			desc = true
		default:
			return "", invalidf("sort direction of %q must be 1 or -1", e.Key)
		}
		dir := " ASC"
		if desc {
			dir = " DESC"
		}
		switch {
		case e.Key == "":
			return "", invalidf("sort field must not be empty")
		case e.Key == "_id":
			parts = append(parts, "id"+dir)
			if i == 0 {
				c.served = true
			}
		case addressable(e.Key) && !c.onArray(e.Key) && !c.arrays[objectMark+e.Key]:
			if c.pinned[e.Key] {
				parts = append(parts, c.valueOf(e.Key)+dir)
			} else {
				parts = append(parts, c.typeOf(e.Key)+dir, c.valueOf(e.Key)+dir)
			}
			if i == 0 && c.indexed[e.Key] {
				c.served = true
			}
		default:
			parts = append(parts, fnSortKey+"(doc,"+sqlString(e.Key)+","+fmt.Sprint(boolInt(desc))+")"+dir)
		}
	}
	var arrayKeys []string
	for _, e := range sort {
		if e.Key != "_id" && c.onArray(e.Key) {
			arrayKeys = append(arrayKeys, sqlString(e.Key))
		}
	}
	if len(arrayKeys) > 1 {
		c.guard = fnParallel + "(doc," + strings.Join(arrayKeys, ",") + ")"
	}
	return " ORDER BY " + strings.Join(parts, ","), nil
}

// arrayOps compiles the conditions on a path that holds an array in some documents (but no
// prefix of it does): a document matches when its value does, as for a scalar, or when the
// value is an array and one of its elements does (json_each).
func (c *compiler) arrayOps(path string, ops bson.D) (string, error) {
	parts := make([]string, 0, len(ops))
	for _, e := range ops {
		var s string
		var err error
		val := normalize(e.Value)
		switch e.Key {
		case "$eq", "$ne":
			s, err = c.arrayEq(path, val)
			if e.Key == "$ne" {
				s = "NOT " + s
			}
		case "$in", "$nin":
			arr, ok := val.(bson.A)
			if !ok {
				return "", invalidf("$in and $nin need an array")
			}
			alts := make([]string, 0, len(arr))
			for _, el := range arr {
				alt, err := c.arrayEq(path, normalize(el))
				if err != nil {
					return "", err
				}
				alts = append(alts, alt)
			}
			s = "(0)"
			if len(alts) > 0 {
				s = "(" + strings.Join(alts, " OR ") + ")"
			}
			if e.Key == "$nin" {
				s = "NOT " + s
			}
		case "$gt", "$gte", "$lt", "$lte":
			if val == nil {
				if e.Key == "$gte" || e.Key == "$lte" {
					s, err = c.arrayEq(path, nil)
				} else {
					s = "(0)"
				}
				break
			}
			var scalar, elem string
			if scalar, err = c.scalarRange(path, e.Key, val); err == nil {
				elem, err = c.elementCond(val, rangeOps[e.Key])
				s = c.anyElement(path, scalar, elem)
			}
		case "$exists", "$options":
			s, err = c.scalarOps(path, bson.D{e}, false)
			if e.Key == "$options" {
				continue
			}
		case "$regex":
			re, rerr := regexFor(ops, val)
			if rerr != nil {
				return "", rerr
			}
			id := c.register(re)
			scalar := "(" + c.typeOf(path) + "=3 AND " + fnRegex + "(" + c.arg(id) + "," + c.valueOf(path) + "))"
			s = c.anyElement(path, scalar, "type='text' AND "+fnRegex+"("+c.arg(id)+",value)")
		case "$not":
			inner, ok := isOperatorDoc(val)
			if !ok {
				return "", invalidf("$not needs an operator object")
			}
			s, err = c.arrayOps(path, inner)
			s = "NOT " + s
		default:
			return "", invalidf("operator %s is not supported", e.Key)
		}
		if err != nil {
			return "", err
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "(1)", nil
	}
	return "(" + strings.Join(parts, " AND ") + ")", nil
}

// anyElement joins a condition on the value at path with one on each element of the array
// there (elem is written on json_each's columns).
func (c *compiler) anyElement(path, scalar, elem string) string {
	jp, _ := jsonPath(path)
	return "(" + scalar + " OR (json_type(doc," + jp + ")='array' AND EXISTS (SELECT 1 FROM json_each(doc," + jp + ") WHERE " + elem + ")))"
}

// arrayEq is equality on a path that may hold an array.
func (c *compiler) arrayEq(path string, v any) (string, error) {
	scalar, err := c.scalarEq(path, v)
	if err != nil {
		return "", err
	}
	elem, err := c.elementCond(v, "=")
	if err != nil {
		return "", err
	}
	return c.anyElement(path, scalar, elem), nil
}

// elementCond compares an array element (json_each's type and value) with v.
func (c *compiler) elementCond(v any, op string) (string, error) {
	if v == nil {
		return "type='null'", nil
	}
	p, class, err := sqlParam(v)
	if err != nil {
		return "", err
	}
	types := map[int]string{classNumber: "type IN ('integer','real')", classString: "type='text'",
		classBool:     "type IN ('true','false')",
		classObjectID: "type='object' AND json_type(value,'$.\"" + keyOID + "\"') IS NOT NULL",
		classDate:     "type='object' AND json_type(value,'$.\"" + keyDate + "\"') IS NOT NULL"}[class]
	return types + " AND value" + op + c.arg(p), nil
}
