package filter

import (
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// ParseSort turns a ?sort= value such as "-a,b" into bson.D{{"a", -1}, {"b", 1}}. Each item
// is a field path, optionally prefixed by "-" for descending or "+" for ascending; items
// are trimmed of surrounding whitespace (a "+" in a URL query often arrives as a space).
// An empty or all-whitespace value means no sort and gives nil.
func ParseSort(raw string) (bson.D, error) {
	items, err := splitList("sort", raw, maxSortFields)
	if err != nil || items == nil {
		return nil, err
	}
	out := make(bson.D, 0, len(items))
	seen := map[string]bool{}
	for _, item := range items {
		dir := 1
		switch item[0] {
		case '-':
			dir, item = -1, item[1:]
		case '+':
			item = item[1:]
		}
		if err := checkPath(item); err != nil {
			return nil, pathError("sort", err)
		}
		if seen[item] {
			return nil, errorf("sort: field %q is listed more than once", item)
		}
		seen[item] = true
		out = append(out, bson.E{Key: item, Value: dir})
	}
	return out, nil
}

// ParseFields turns a ?fields= value such as "a,b" into the projection
// bson.D{{"a", 1}, {"b", 1}}. Mongo always returns _id, so it need not be listed. An empty or
// all-whitespace value means all fields and gives nil. Overlapping paths such as "a" and
// "a.b" are rejected because Mongo refuses them as a path collision.
func ParseFields(raw string) (bson.D, error) {
	items, err := splitList("fields", raw, maxProjectionFields)
	if err != nil || items == nil {
		return nil, err
	}
	out := make(bson.D, 0, len(items))
	for i, item := range items {
		if err := checkPath(item); err != nil {
			return nil, pathError("fields", err)
		}
		for _, prev := range items[:i] {
			if prev == item {
				return nil, errorf("fields: field %q is listed more than once", item)
			}
			if isPrefix(prev, item) || isPrefix(item, prev) {
				return nil, errorf("fields: %q and %q overlap; list only one of them", prev, item)
			}
		}
		out = append(out, bson.E{Key: item, Value: 1})
	}
	return out, nil
}

// splitList splits a comma-separated parameter into trimmed, non-empty items, at most limit
// of them. It returns nil for an empty or all-whitespace value.
func splitList(param, raw string, limit int) ([]string, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	if strings.Count(raw, ",")+1 > limit {
		return nil, errorf("%s: more than %d fields", param, limit)
	}
	items := strings.Split(raw, ",")
	for i, item := range items {
		items[i] = strings.TrimSpace(item)
		if items[i] == "" {
			return nil, errorf("%s: empty item in the comma-separated list", param)
		}
	}
	return items, nil
}

// isPrefix tells whether path a is a parent of path b, as "a" is of "a.b".
func isPrefix(a, b string) bool {
	return len(b) > len(a) && strings.HasPrefix(b, a) && b[len(a)] == '.'
}
