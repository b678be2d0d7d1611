package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"github.com/backpackhq/backpack/tools/jsondoc"
	"github.com/labstack/echo/v4"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// RequireJSON refuses bodies that do not say they are JSON, so a form post or a file sent to a
// JSON endpoint by mistake gets a clear 415 instead of a parse error (and a cross-site form
// cannot reach a JSON endpoint without a CORS preflight).
func RequireJSON(c echo.Context) error {
	mt, _, err := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	if err != nil || mt != echo.MIMEApplicationJSON {
		return NewError(http.StatusUnsupportedMediaType, "unsupported_media_type", "send the body as application/json")
	}
	return nil
}

// DecodeJSON reads a small JSON body into a struct. The body must be one JSON object with no
// duplicate keys (so {"email":"a","email":"b"} cannot mean b to one reader and a to another;
// keys differing only in case count as duplicates too, since encoding/json matches struct
// fields case-insensitively), no unknown fields (so typos such as "emial" are reported rather
// than ignored) and nothing after it but whitespace. The body's size limit is the caller's
// (an http.MaxBytesReader); reading to the end enforces it for a body without a length.
func DecodeJSON(c echo.Context, v any) error {
	if err := RequireJSON(c); err != nil {
		return err
	}
	raw, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err
	}
	body := bytes.TrimSpace(raw)
	switch {
	case len(body) == 0:
		return BadRequest("invalid_json", "the body is empty; send a JSON object")
	case body[0] != '{':
		return BadRequest("invalid_json", "the body must be a JSON object")
	}
	// jsondoc is the one strict reader of both APIs' JSON: it refuses what encoding/json lets
	// through (duplicate keys, invalid UTF-8, trailing data, absurd nesting).
	doc, err := jsondoc.DecodeObject(raw, jsondoc.Limits{MaxBytes: len(raw)})
	if err != nil {
		return BadRequest("invalid_json", err.Error())
	}
	if key, ok := foldedDuplicate(doc); ok {
		return BadRequest("invalid_json", fmt.Sprintf("the body has the key %q more than once (keys are not case-sensitive)", key))
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return JSONError(err)
	}
	return nil
}

// foldedDuplicate finds, at any depth, two keys of one object that differ only in case.
func foldedDuplicate(v any) (string, bool) {
	switch t := v.(type) {
	case bson.D:
		seen := make(map[string]bool, len(t))
		for _, e := range t {
			folded := strings.ToLower(e.Key)
			if seen[folded] {
				return e.Key, true
			}
			seen[folded] = true
			if key, ok := foldedDuplicate(e.Value); ok {
				return key, true
			}
		}
	case bson.A:
		for _, x := range t {
			if key, ok := foldedDuplicate(x); ok {
				return key, true
			}
		}
	}
	return "", false
}

// JSONError explains a decoding failure in words a client can act on: where the JSON broke,
// or which field should have held what kind of value, never a Go type name.
func JSONError(err error) error {
	var (
		syntax    *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
		maxBytes  *http.MaxBytesError
		errPrefix = "the body is not valid JSON"
	)
	switch {
	case errors.As(err, &maxBytes):
		return err
	case errors.As(err, &syntax):
		return BadRequest("invalid_json", fmt.Sprintf("%s (at byte %d)", errPrefix, syntax.Offset))
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return BadRequest("invalid_json", "the body must be "+describeType(typeErr.Type))
		}
		return &Error{Status: http.StatusBadRequest, Code: "invalid_json",
			Message: fmt.Sprintf("field %q must be %s", typeErr.Field, describeType(typeErr.Type)),
			Details: map[string]any{"field": typeErr.Field}}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return BadRequest("invalid_json", "the body is empty or cut short")
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return BadRequest("invalid_json", strings.TrimPrefix(err.Error(), "json: "))
	}
	return BadRequest("invalid_json", errPrefix)
}

// describeType says in JSON's words what kind of value a Go type is decoded from.
func describeType(t reflect.Type) string {
	if t == nil {
		return "a JSON value of another kind"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "a whole number in range"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "a JSON object"
	}
	return "a JSON value of another kind"
}
