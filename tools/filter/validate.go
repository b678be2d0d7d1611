package filter

import (
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// validator walks one filter, counting its nodes against maxNodes. Every method that takes a
// depth is given the depth of the object or array it walks, the top-level filter being 1.
type validator struct {
	nodes int
}

// enter checks the depth of an object or array about to be walked.
func (v *validator) enter(depth int) error {
	if depth > maxDepth {
		return errorf("filter nests objects and arrays deeper than %d levels", maxDepth)
	}
	return nil
}

// count records one key or array element.
func (v *validator) count() error {
	v.nodes++
	if v.nodes > maxNodes {
		return errorf("filter has more than %d keys and array elements", maxNodes)
	}
	return nil
}

// filter checks a filter document: the top level, or one element of $and or $or. Its keys
// are $and, $or or field paths.
func (v *validator) filter(doc bson.D, depth int) (bson.D, error) {
	if err := v.enter(depth); err != nil {
		return nil, err
	}
	out := make(bson.D, 0, len(doc))
	for _, e := range doc {
		if err := v.count(); err != nil {
			return nil, err
		}
		var val any
		var err error
		switch {
		case e.Key == "$and" || e.Key == "$or":
			val, err = v.logical(e.Key, e.Value, depth+1)
		case strings.HasPrefix(e.Key, "$"):
			err = misplacedOperator(e.Key)
		default:
			err = checkPath(e.Key)
			if err == nil {
				val, err = v.field(e.Key, e.Value, depth+1)
			}
		}
		if err != nil {
			return nil, err
		}
		out = append(out, bson.E{Key: e.Key, Value: val})
	}
	return out, nil
}

// logical checks the value of $and or $or: a non-empty array of filter documents.
func (v *validator) logical(op string, val any, depth int) (bson.A, error) {
	arr, ok := val.(bson.A)
	if !ok || len(arr) == 0 {
		return nil, errorf("%q needs a non-empty array of filter objects", op)
	}
	if err := v.enter(depth); err != nil {
		return nil, err
	}
	out := make(bson.A, 0, len(arr))
	for _, el := range arr {
		if err := v.count(); err != nil {
			return nil, err
		}
		doc, ok := el.(bson.D)
		if !ok {
			return nil, errorf("every element of %q must be a filter object", op)
		}
		sub, err := v.filter(doc, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, sub)
	}
	return out, nil
}

// field checks the value given for a field path: an operator object or a literal to match.
func (v *validator) field(path string, val any, depth int) (any, error) {
	if doc, ok := val.(bson.D); ok {
		isOps, err := operatorKeys(path, doc)
		if err != nil {
			return nil, err
		}
		if isOps {
			return v.operators(path, doc, depth, false)
		}
	}
	if err := v.literal(val, depth); err != nil {
		return nil, err
	}
	return toObjectID(path, val), nil
}

// literal checks a value matched as it is: a scalar, or arrays and objects of such values
// whose keys are not operators.
func (v *validator) literal(val any, depth int) error {
	switch t := val.(type) {
	case nil, string, bool, int32, int64, int, float64, bson.ObjectID:
		return nil
	case bson.A:
		if err := v.enter(depth); err != nil {
			return err
		}
		for _, el := range t {
			if err := v.count(); err != nil {
				return err
			}
			if err := v.literal(el, depth+1); err != nil {
				return err
			}
		}
		return nil
	case bson.D:
		if err := v.enter(depth); err != nil {
			return err
		}
		for _, e := range t {
			if err := v.count(); err != nil {
				return err
			}
			if strings.HasPrefix(e.Key, "$") {
				return errorf("operator %q is not allowed inside a value to match", e.Key)
			}
			if err := v.literal(e.Value, depth+1); err != nil {
				return err
			}
		}
		return nil
	default:
		return errorf("filter values of type %T are not supported", val)
	}
}

// operatorKeys tells whether an object given as a field's value is an operator object (all
// keys start with "$") or a literal object (none do); mixing the two is an error.
func operatorKeys(path string, doc bson.D) (bool, error) {
	ops := 0
	for _, e := range doc {
		if strings.HasPrefix(e.Key, "$") {
			ops++
		}
	}
	if ops > 0 && ops < len(doc) {
		return false, errorf("the value of field %q mixes operators and field names", path)
	}
	return ops > 0, nil
}

// misplacedOperator explains why an operator key cannot appear where a field path belongs.
func misplacedOperator(key string) error {
	if isFieldOperator(key) {
		return errorf("operator %q must be applied to a field, as in {\"field\": {%q: ...}}", key, key)
	}
	return errorf("operator %q is not allowed", key)
}

// toObjectID turns a string that spells an ObjectID into one when path is _id, so that
// clients can filter by the ids they read in JSON.
func toObjectID(path string, val any) any {
	if path != "_id" {
		return val
	}
	s, ok := val.(string)
	if !ok {
		return val
	}
	id, err := bson.ObjectIDFromHex(s)
	if err != nil {
		return val
	}
	return id
}
