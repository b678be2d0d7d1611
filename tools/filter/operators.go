package filter

import (
	"regexp"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// isFieldOperator tells whether op is an allowed operator that applies to a field's value.
func isFieldOperator(op string) bool {
	switch op {
	case "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$not", "$regex", "$options":
		return true
	}
	return false
}

// operators checks an operator object given for a field, such as {"$gt": 1, "$lt": 5}.
// inNot is set inside $not, which may not nest.
func (v *validator) operators(path string, doc bson.D, depth int, inNot bool) (bson.D, error) {
	if err := v.enter(depth); err != nil {
		return nil, err
	}
	out := make(bson.D, 0, len(doc))
	hasRegex, hasOptions := false, false
	for _, e := range doc {
		if err := v.count(); err != nil {
			return nil, err
		}
		hasRegex = hasRegex || e.Key == "$regex"
		hasOptions = hasOptions || e.Key == "$options"
		val, err := v.operator(path, e.Key, e.Value, depth+1, inNot)
		if err != nil {
			return nil, err
		}
		out = append(out, bson.E{Key: e.Key, Value: val})
	}
	if hasOptions && !hasRegex {
		return nil, errorf(`"$options" can only be used together with "$regex"`)
	}
	return out, nil
}

// operator checks one operator and its value; depth is the value's own if it is an object or
// array.
func (v *validator) operator(path, op string, val any, depth int, inNot bool) (any, error) {
	switch op {
	case "$eq", "$ne", "$gt", "$gte", "$lt", "$lte":
		if err := v.literal(val, depth); err != nil {
			return nil, err
		}
		return toObjectID(path, val), nil
	case "$in", "$nin":
		return v.list(path, op, val, depth)
	case "$exists":
		if _, ok := val.(bool); !ok {
			return nil, errorf(`"$exists" needs true or false`)
		}
		return val, nil
	case "$regex":
		return val, checkRegex(val)
	case "$options":
		return val, checkOptions(val)
	case "$not":
		return v.not(path, val, depth, inNot)
	case "$and", "$or":
		return nil, errorf("operator %q cannot be applied to a field; use it at the top level of the filter", op)
	default:
		return nil, errorf("operator %q is not allowed", op)
	}
}

// list checks the array of values given to $in or $nin.
func (v *validator) list(path, op string, val any, depth int) (bson.A, error) {
	arr, ok := val.(bson.A)
	if !ok {
		return nil, errorf("%q needs an array of values", op)
	}
	if err := v.enter(depth); err != nil {
		return nil, err
	}
	out := make(bson.A, 0, len(arr))
	for _, el := range arr {
		if err := v.count(); err != nil {
			return nil, err
		}
		if err := v.literal(el, depth+1); err != nil {
			return nil, err
		}
		out = append(out, toObjectID(path, el))
	}
	return out, nil
}

// not checks the value of $not: a non-empty operator object without a further $not.
func (v *validator) not(path string, val any, depth int, inNot bool) (bson.D, error) {
	if inNot {
		return nil, errorf(`"$not" cannot be used inside "$not"`)
	}
	doc, ok := val.(bson.D)
	if !ok || len(doc) == 0 {
		return nil, errorf(`"$not" needs an operator object, such as {"$gt": 1}`)
	}
	isOps, err := operatorKeys(path, doc)
	if err != nil {
		return nil, err
	}
	if !isOps {
		return nil, errorf(`"$not" needs an operator object, such as {"$gt": 1}`)
	}
	return v.operators(path, doc, depth, true)
}

// checkRegex accepts a pattern string that Go's regexp package compiles, which keeps clients
// to the common regular expression syntax.
func checkRegex(val any) error {
	pattern, ok := val.(string)
	switch {
	case !ok:
		return errorf(`"$regex" needs a string pattern`)
	case len(pattern) > maxRegexBytes:
		return errorf(`"$regex" pattern is longer than %d bytes`, maxRegexBytes)
	case strings.IndexByte(pattern, 0) >= 0:
		return errorf(`"$regex" pattern contains a NUL character`)
	}
	if _, err := regexp.Compile(pattern); err != nil {
		return errorf(`"$regex" pattern is not valid: %v`, err)
	}
	return nil
}

// checkOptions accepts the $regex flags i, m, s and x, each at most once.
func checkOptions(val any) error {
	flags, ok := val.(string)
	if !ok {
		return errorf(`"$options" needs a string of flags`)
	}
	for i, c := range flags {
		if !strings.ContainsRune("imsx", c) || strings.ContainsRune(flags[:i], c) {
			return errorf(`"$options" may only contain the flags i, m, s and x, each at most once`)
		}
	}
	return nil
}
