package sqlitestore

import (
	"slices"
	"strconv"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// A sorted page that no index serves reads every document, and what it costs is the JSON
// functions called on each one: the filter computes typeExpr and valueExpr of its paths, and
// the sorter computes them again for every row that passes, each call walking the document
// (and converting the number's text, for numbers). So such a query reads the table through
// a subquery that extracts each scalar sort path once per row, json_extract(doc, path), and
// the filter and the sort work on that column:
//
//   - valueExpr is ifnull(column, 0), as it is on the document;
//   - typeExpr is told from the column where that alone is unambiguous (json_extract gives a
//     number but 0 or 1 only for numbers, NULL only for null or missing, a text not starting
//     with '[' or '{' only for strings) and from the document, as typeExpr does, otherwise
//     (0 and 1 may be false and true; objects and arrays come back as their JSON text).
//
// When the filter's top level fixes a sort path's type class (a range on numbers, say), the
// sort leaves the class out.
//
// The subquery has a LIMIT and an OFFSET so that SQLite neither flattens it (which would put
// the json_extract calls back in every place the column is used) nor pushes the filter down
// into it; it runs as a co-routine, one row at a time, and holds nothing.
//
// It reads the table backwards when the first sort key is descending. Documents are mostly
// appended in the order of their creation, so fields that sort newest first (dates,
// counters) meet their best rows first that way, and the sorter, which keeps only the page,
// drops a row worse than the page's last without inserting it. Rows with equal keys still
// come in rowid order (the rowid is the sort's last key), as a forward scan gives them.

// scanSort is a sort that a scan computes on hoisted columns: the paths to hoist, and whether
// the first key is descending.
func scanSort(c *compiler, sortBy bson.D) (paths []string, desc bool) {
	for i, e := range sortBy {
		if i == 0 {
			switch normalize(e.Value) {
			case int32(-1), int64(-1), float64(-1):
				desc = true
			}
		}
		if e.Key != "_id" && addressable(e.Key) && !c.onArray(e.Key) && !c.arrays[objectMark+e.Key] && !slices.Contains(paths, e.Key) {
			paths = append(paths, e.Key)
		}
	}
	return paths, desc
}

// scanPageSQL builds the inner query of a sorted page that no index serves: the rowids of the
// page's documents. c has compiled the query once already; it compiles it again on hoisted
// columns.
func (c *compiler) scanPageSQL(st *collState, filter, sortBy bson.D, pg page) (string, error) {
	paths, desc := scanSort(c, sortBy)
	c.release()
	c.args, c.guard, c.served = nil, "", false
	c.hoisted = make(map[string]string, len(paths))
	c.pinned = map[string]bool{}
	var cols strings.Builder
	cols.WriteString("rowid AS bp_r,id,doc")
	for i, p := range paths {
		col := "bp_v" + strconv.Itoa(i)
		jp, _ := jsonPath(p)
		cols.WriteString(",json_extract(doc," + jp + ") AS " + col)
		c.hoisted[p] = col
		if pinned(filter, p) {
			c.pinned[p] = true
		}
	}
	where, err := c.filter(filter, true)
	if err != nil {
		return "", err
	}
	order, err := c.orderBy(sortBy)
	if err != nil {
		return "", err
	}
	if c.guard != "" {
		where = "(CASE WHEN " + where + " THEN " + c.guard + " ELSE 0 END)"
	}
	scan := ""
	if desc {
		scan = " ORDER BY rowid DESC"
	}
	return "SELECT bp_r FROM (SELECT " + cols.String() + " FROM " + st.table + scan + " LIMIT -1 OFFSET 0) WHERE " +
		where + order + ",bp_r" + pg.sql(), nil
}

// pinned tells whether the filter's top level fixes the type class of path: an equality or
// a range on a value SQL compares matches only values of that value's class, so every row
// that matches has the same class there and sorting on it is moot. Only a field whose every
// operator is such a comparison counts, so that none of them leaves the field to the Go
// matcher.
func pinned(filter bson.D, path string) bool {
	for _, e := range filter {
		if e.Key != path {
			continue
		}
		v := normalize(e.Value)
		ops, isOps := isOperatorDoc(v)
		if !isOps {
			ops = bson.D{{Key: "$eq", Value: v}}
		}
		all := true
		for _, op := range ops {
			_, _, err := sqlParam(normalize(op.Value))
			switch op.Key {
			case "$eq", "$gt", "$gte", "$lt", "$lte":
				all = all && err == nil
			default:
				all = false
			}
		}
		if all {
			return true
		}
	}
	return false
}

// typeOf is typeExpr, on the hoisted column when path has one. It tells the class with
// comparisons, which cost no function call: NULL is null or missing; a value below the empty
// string is a number (SQLite orders numbers before text), or false or true when it is 0 or
// 1; a text is a string unless it starts with '[' or '{'.
func (c *compiler) typeOf(path string) string {
	col, ok := c.hoisted[path]
	if !ok {
		return typeExpr(path)
	}
	full := typeExpr(path)
	return "(CASE WHEN " + col + " IS NULL THEN 1" +
		" WHEN " + col + "<'' THEN (CASE WHEN " + col + " NOT IN (0,1) THEN 2 ELSE " + full + " END)" +
		" WHEN " + col + "<'[' OR (" + col + ">='\\' AND " + col + "<'{') OR " + col + ">='|' THEN 3" +
		" ELSE " + full + " END)"
}

// classAnd is a comparison of the value at path that holds only within class: the class
// first, as an index on the path wants it, but the comparison first on a hoisted column,
// where it costs less than telling the class and rejects most rows alone.
func (c *compiler) classAnd(path string, class int, cmp string) string {
	if _, ok := c.hoisted[path]; ok {
		return "(" + cmp + " AND " + c.typeOf(path) + "=" + strconv.Itoa(class) + ")"
	}
	return "(" + c.typeOf(path) + "=" + strconv.Itoa(class) + " AND " + cmp + ")"
}

// valueOf is valueExpr, on the hoisted column when path has one.
func (c *compiler) valueOf(path string) string {
	if col, ok := c.hoisted[path]; ok {
		return "ifnull(" + col + ",0)"
	}
	return valueExpr(path)
}
