package sqlitestore

import (
	"sort"
	"strconv"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/backpackhq/backpack/tools/docstore"
)

// applyChange applies an update's $set and $push to doc as MongoDB 5.0 and later do: the
// fields of all operators together, in lexicographic order of their paths (so new fields are
// appended sorted by name).
func applyChange(doc *bson.D, change docstore.Change) error {
	type step struct {
		path string
		val  any
		push bool
	}
	steps := make([]step, 0, len(change.Set)+len(change.Push))
	for _, e := range change.Set {
		steps = append(steps, step{e.Key, e.Value, false})
	}
	for _, e := range change.Push {
		steps = append(steps, step{e.Key, e.Value, true})
	}
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].path < steps[j].path })
	for _, st := range steps {
		if st.path == "_id" {
			if id, ok := lookupKey(*doc, "_id"); ok && compareValues(id, st.val) != 0 {
				return invalidf("an update may not change _id")
			}
		}
		parts := strings.Split(st.path, ".")
		val := st.val
		if st.push {
			arr, err := pushed(*doc, parts, st.val)
			if err != nil {
				return err
			}
			val = arr
		}
		if err := setPath(doc, parts, val); err != nil {
			return err
		}
	}
	return nil
}

// pushed is the array at parts with val appended (a new one when the field is missing).
func pushed(doc bson.D, parts []string, val any) (bson.A, error) {
	var cur any = doc
	for _, p := range parts {
		next, ok := child(cur, p)
		if !ok {
			return bson.A{val}, nil
		}
		cur = next
	}
	switch t := cur.(type) {
	case bson.A:
		return append(slices0(t), val), nil
	case []any:
		return append(slices0(bson.A(t)), val), nil
	}
	return nil, invalidf("$push: field %q is not an array", strings.Join(parts, "."))
}

// slices0 copies an array so that appending does not write into the original.
func slices0(a bson.A) bson.A {
	out := make(bson.A, len(a), len(a)+1)
	copy(out, a)
	return out
}

// child returns the field or array element p of v.
func child(v any, p string) (any, bool) {
	switch t := v.(type) {
	case bson.D:
		return lookupKey(t, p)
	case bson.A:
		i, err := strconv.Atoi(p)
		if err != nil || i < 0 || i >= len(t) {
			return nil, false
		}
		return t[i], true
	}
	return nil, false
}

// setPath sets the value at a dotted path, creating objects on the way (and padding arrays
// with nulls when a position past their end is set, as MongoDB does).
func setPath(doc *bson.D, parts []string, val any) error {
	for i, e := range *doc {
		if e.Key != parts[0] {
			continue
		}
		if len(parts) == 1 {
			(*doc)[i].Value = val
			return nil
		}
		nv, err := setIn(e.Value, parts[1:], val)
		if err != nil {
			return err
		}
		(*doc)[i].Value = nv
		return nil
	}
	if len(parts) == 1 {
		*doc = append(*doc, bson.E{Key: parts[0], Value: val})
		return nil
	}
	sub := bson.D{}
	if err := setPath(&sub, parts[1:], val); err != nil {
		return err
	}
	*doc = append(*doc, bson.E{Key: parts[0], Value: sub})
	return nil
}

// setIn sets parts inside container v and returns the new container.
func setIn(v any, parts []string, val any) (any, error) {
	switch t := v.(type) {
	case bson.D:
		d := append(bson.D(nil), t...)
		if err := setPath(&d, parts, val); err != nil {
			return nil, err
		}
		return d, nil
	case bson.A, []any:
		arr, _ := normalize(t).(bson.A)
		i, err := strconv.Atoi(parts[0])
		if err != nil || i < 0 {
			return nil, invalidf("cannot set field %q in an array", parts[0])
		}
		out := append(bson.A(nil), arr...)
		for len(out) <= i {
			out = append(out, nil)
		}
		if len(parts) == 1 {
			out[i] = val
			return out, nil
		}
		var cur any = out[i]
		if cur == nil {
			cur = bson.D{}
		}
		nv, err := setIn(cur, parts[1:], val)
		if err != nil {
			return nil, err
		}
		out[i] = nv
		return out, nil
	}
	return nil, invalidf("cannot create field %q inside a value that is not an object", parts[0])
}
