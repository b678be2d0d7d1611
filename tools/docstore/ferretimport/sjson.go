package ferretimport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// FerretDB v1 stores each document as SJSON: a JSON object whose "$s" member is a schema
// giving every field's BSON type and the fields' order, the other members being the values in
// plain JSON. The schema, as FerretDB writes it (internal/handler/sjson):
//
//	document: {"$s": {"p": {field: elem, ...}, "$k": [field, ...]}, field: value, ...}
//	elem:     {"t": type, "$s": schema (object), "i": [elem, ...] (array),
//	           "o": options (regex), "s": subtype (binData)}
//
// Types and their values: object (a JSON object), array (a JSON array), double, string,
// binData (base64), objectId (24 hex digits), bool, date (milliseconds since the epoch), null,
// regex (the pattern), int (int32), timestamp (a uint64), long (int64). A JSON null is a BSON
// null whatever the schema says. An empty document's schema is {}.

// sjsonSchema is a document's schema.
type sjsonSchema struct {
	Properties map[string]*sjsonElem `json:"p"`
	Keys       []string              `json:"$k"`
}

// sjsonElem is one value's schema.
type sjsonElem struct {
	Type    string       `json:"t"`
	Schema  *sjsonSchema `json:"$s,omitempty"`
	Options *string      `json:"o,omitempty"`
	Items   []*sjsonElem `json:"i,omitempty"`
	Subtype *byte        `json:"s,omitempty"`
}

// decodeSJSON turns one stored document into a bson.D, fields in their order and every value
// in its exact BSON type. Anything FerretDB would not have written is an error.
func decodeSJSON(data []byte) (bson.D, error) {
	var members map[string]json.RawMessage
	if err := unmarshalStrict(data, &members, false); err != nil {
		return nil, fmt.Errorf("sjson document: %w", err)
	}
	if members == nil {
		return nil, errors.New("sjson document: not an object")
	}
	raw, ok := members["$s"]
	if !ok {
		return nil, errors.New("sjson document: no schema ($s)")
	}
	delete(members, "$s")
	var sch sjsonSchema
	if err := unmarshalStrict(raw, &sch, true); err != nil {
		return nil, fmt.Errorf("sjson schema: %w", err)
	}
	return decodeFields(members, &sch)
}

// decodeFields decodes an object's members as its schema says.
func decodeFields(members map[string]json.RawMessage, sch *sjsonSchema) (bson.D, error) {
	if len(sch.Keys) != len(members) {
		return nil, fmt.Errorf("sjson: the schema lists %d fields, the document has %d", len(sch.Keys), len(members))
	}
	doc := make(bson.D, 0, len(sch.Keys))
	seen := make(map[string]bool, len(sch.Keys))
	for _, key := range sch.Keys {
		if seen[key] {
			return nil, fmt.Errorf("sjson: field %q is listed twice in the schema", key)
		}
		seen[key] = true
		raw, ok := members[key]
		if !ok {
			return nil, fmt.Errorf("sjson: field %q is in the schema, not in the document", key)
		}
		v, err := decodeValue(raw, sch.Properties[key])
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", key, err)
		}
		doc = append(doc, bson.E{Key: key, Value: v})
	}
	return doc, nil
}

// decodeValue decodes one JSON value of the type el gives.
func decodeValue(raw json.RawMessage, el *sjsonElem) (any, error) {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, nil
	}
	if el == nil {
		return nil, errors.New("sjson: no schema for this value")
	}
	switch el.Type {
	case "object":
		var members map[string]json.RawMessage
		if err := unmarshalStrict(raw, &members, false); err != nil {
			return nil, err
		}
		if len(members) == 0 {
			return bson.D{}, nil
		}
		if el.Schema == nil {
			return nil, errors.New("sjson: an object without its schema")
		}
		return decodeFields(members, el.Schema)
	case "array":
		var items []json.RawMessage
		if err := unmarshalStrict(raw, &items, false); err != nil {
			return nil, err
		}
		if len(items) != len(el.Items) {
			return nil, fmt.Errorf("sjson: the schema lists %d array items, the array has %d", len(el.Items), len(items))
		}
		arr := make(bson.A, len(items))
		for i, item := range items {
			v, err := decodeValue(item, el.Items[i])
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
			arr[i] = v
		}
		return arr, nil
	case "double":
		return boxed(decodeAs[float64](raw))
	case "string":
		return boxed(decodeAs[string](raw))
	case "binData":
		var b []byte
		if err := unmarshalStrict(raw, &b, false); err != nil {
			return nil, err
		}
		if el.Subtype == nil {
			return nil, errors.New("sjson: binary data without its subtype")
		}
		return bson.Binary{Subtype: *el.Subtype, Data: b}, nil
	case "objectId":
		var s string
		if err := unmarshalStrict(raw, &s, false); err != nil {
			return nil, err
		}
		id, err := bson.ObjectIDFromHex(s)
		if err != nil {
			return nil, fmt.Errorf("sjson: object id %q: %w", s, err)
		}
		return id, nil
	case "bool":
		return boxed(decodeAs[bool](raw))
	case "date":
		ms, err := decodeAs[int64](raw)
		if err != nil {
			return nil, err
		}
		return bson.DateTime(ms), nil
	case "null":
		return nil, fmt.Errorf("sjson: null type with the value %s", raw)
	case "regex":
		var pattern string
		if err := unmarshalStrict(raw, &pattern, false); err != nil {
			return nil, err
		}
		if el.Options == nil {
			return nil, errors.New("sjson: regular expression without its options")
		}
		return bson.Regex{Pattern: pattern, Options: *el.Options}, nil
	case "int":
		return boxed(decodeAs[int32](raw))
	case "timestamp":
		var ts uint64
		if err := unmarshalStrict(raw, &ts, false); err != nil {
			return nil, err
		}
		return bson.Timestamp{T: uint32(ts >> 32), I: uint32(ts)}, nil
	case "long":
		return boxed(decodeAs[int64](raw))
	default:
		return nil, fmt.Errorf("sjson: unknown type %q", el.Type)
	}
}

// decodeAs decodes a JSON scalar as a T.
func decodeAs[T any](raw json.RawMessage) (T, error) {
	var v T
	err := unmarshalStrict(raw, &v, false)
	return v, err
}

// boxed gives a decoded value as a document value, nil on error.
func boxed[T any](v T, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return v, nil
}

// unmarshalStrict decodes exactly one JSON value filling v, refusing trailing data and, when
// asked, unknown object members.
func unmarshalStrict(data []byte, v any, disallowUnknown bool) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if disallowUnknown {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("sjson: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("sjson: data after the value")
	}
	return nil
}
