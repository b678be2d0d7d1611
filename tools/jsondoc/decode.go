package jsondoc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// DecodeObject parses exactly one JSON object (surrounding whitespace allowed, nothing else
// after it) into a bson.D, preserving key order. Arrays become bson.A, strings string,
// true/false bool, null nil, and numbers int64 when the literal is an integer that fits,
// otherwise float64. It rejects invalid JSON, a top level that is not an object, duplicate
// keys, keys containing NUL (BSON cannot store them), nesting deeper than lim.MaxDepth,
// input larger than lim.MaxBytes, an object with more than lim.MaxKeys members, more than
// lim.MaxNodes values in all, numbers beyond float64 range and invalid UTF-8. As in
// encoding/json, an escaped lone UTF-16 surrogate such as \ud800 becomes U+FFFD.
// Every error is an *Error.
func DecodeObject(data []byte, lim Limits) (bson.D, error) {
	lim = lim.withDefaults()
	if len(data) > lim.MaxBytes {
		return nil, &Error{
			Offset: int64(lim.MaxBytes) + 1,
			Msg:    fmt.Sprintf("document is larger than %d bytes", lim.MaxBytes),
		}
	}
	if i := invalidUTF8At(data); i >= 0 {
		return nil, &Error{Offset: int64(i) + 1, Msg: "invalid UTF-8"}
	}

	d := &decoder{data: data, dec: json.NewDecoder(bytes.NewReader(data)), lim: lim}
	d.dec.UseNumber()

	tok, err := d.dec.Token()
	if err != nil {
		return nil, d.syntaxError(err)
	}
	if tok != json.Delim('{') {
		start := len(data) - len(trimSpace(data))
		return nil, &Error{Offset: int64(start) + 1, Msg: "the top level must be a JSON object"}
	}
	doc, err := d.object(1)
	if err != nil {
		return nil, err
	}

	end := d.dec.InputOffset()
	if rest := trimSpace(data[end:]); len(rest) > 0 {
		pos := int64(len(data)-len(rest)) + 1
		return nil, &Error{Offset: pos, Msg: "unexpected data after the JSON object"}
	}
	return doc, nil
}

// decoder walks the token stream of one document.
type decoder struct {
	data  []byte
	dec   *json.Decoder
	lim   Limits
	nodes int // values read so far
}

// object reads the members of an object whose '{' was just read; depth is the object's own.
func (d *decoder) object(depth int) (bson.D, error) {
	doc := bson.D{}
	seen := map[string]struct{}{}
	for {
		tok, err := d.dec.Token()
		if err != nil {
			return nil, d.syntaxError(err)
		}
		if tok == json.Delim('}') {
			return doc, nil
		}
		key, ok := tok.(string)
		if !ok {
			return nil, d.errorHere("expected an object key")
		}
		if _, dup := seen[key]; dup {
			return nil, d.errorHere(fmt.Sprintf("duplicate key %q", key))
		}
		if strings.IndexByte(key, 0) >= 0 {
			return nil, d.errorHere(fmt.Sprintf("key %q contains a NUL character", key))
		}
		seen[key] = struct{}{}
		if len(doc) == d.lim.MaxKeys {
			return nil, d.limitHere(LimitKeys, d.lim.MaxKeys)
		}

		val, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		doc = append(doc, bson.E{Key: key, Value: val})
	}
}

// array reads the elements of an array whose '[' was just read; depth is the array's own.
func (d *decoder) array(depth int) (bson.A, error) {
	arr := bson.A{}
	for {
		tok, err := d.dec.Token()
		if err != nil {
			return nil, d.syntaxError(err)
		}
		if tok == json.Delim(']') {
			return arr, nil
		}
		val, err := d.convert(tok, depth)
		if err != nil {
			return nil, err
		}
		arr = append(arr, val)
	}
}

// value reads the next token and converts it; parentDepth is the depth of the container
// holding the value.
func (d *decoder) value(parentDepth int) (any, error) {
	tok, err := d.dec.Token()
	if err != nil {
		return nil, d.syntaxError(err)
	}
	return d.convert(tok, parentDepth)
}

// convert turns one token that starts a value into that value, reading nested containers.
func (d *decoder) convert(tok json.Token, parentDepth int) (any, error) {
	d.nodes++
	if d.nodes > d.lim.MaxNodes {
		return nil, d.limitHere(LimitNodes, d.lim.MaxNodes)
	}
	switch t := tok.(type) {
	case json.Delim:
		depth := parentDepth + 1
		if depth > d.lim.MaxDepth {
			return nil, d.errorHere(fmt.Sprintf("objects and arrays are nested deeper than %d levels", d.lim.MaxDepth))
		}
		if t == json.Delim('{') {
			return d.object(depth)
		}
		return d.array(depth)
	case json.Number:
		return d.number(t)
	default:
		// string, bool or nil, which BSON stores as they are.
		return t, nil
	}
}

// number keeps integer literals exact as int64 and turns everything else into float64.
func (d *decoder) number(n json.Number) (any, error) {
	s := string(n)
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return nil, d.errorHere("number is too large to store")
	}
	return f, nil
}

// errorHere reports a problem with the token just read.
func (d *decoder) errorHere(msg string) *Error {
	return &Error{Offset: d.dec.InputOffset(), Msg: msg}
}

// limitHere reports a complexity limit reached at the token just read.
func (d *decoder) limitHere(limit string, max int) *Error {
	e := d.errorHere(limitMessage(limit, max))
	e.Limit, e.Max = limit, max
	return e
}

// syntaxError turns a token stream error into an *Error. The stream decoder's own offsets are
// not always relative to the start of the input, so the position is taken from
// json.Unmarshal, which checks the whole input with the same grammar.
func (d *decoder) syntaxError(err error) *Error {
	var raw json.RawMessage
	var se *json.SyntaxError
	if errors.As(json.Unmarshal(d.data, &raw), &se) {
		return &Error{Offset: se.Offset, Msg: se.Error()}
	}
	return d.errorHere(err.Error())
}

// invalidUTF8At returns the index of the first byte that is not valid UTF-8, or -1.
// encoding/json would silently replace such bytes, changing the user's data.
func invalidUTF8At(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}

// trimSpace drops leading JSON whitespace.
func trimSpace(b []byte) []byte {
	return bytes.TrimLeft(b, " \t\r\n")
}
