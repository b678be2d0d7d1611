package coreapi

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/backpackhq/backpack/tools/jsondoc"
	"github.com/labstack/echo/v4"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// serverFields are managed by the API; clients may read them but never set them.
var serverFields = map[string]bool{"_id": true, "_owner": true, "_createdAt": true, "_updatedAt": true}

// decodeDocument reads a client's document: a JSON object, key order kept. Its field names are
// checked where it is written (checkClientDocument), for every transport alike.
func (s *Server) decodeDocument(c echo.Context) (bson.D, error) {
	if err := httpapi.RequireJSON(c); err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, httpapi.BadRequest("invalid_json", "the body is empty; send a JSON object")
	}
	lim := s.documentLimits()
	lim.MaxBytes = int(s.cfg.MaxBodyBytes)
	return jsondoc.DecodeObject(raw, lim)
}

// documentLimits are the complexity limits every stored client document must keep.
func (s *Server) documentLimits() jsondoc.Limits {
	return jsondoc.Limits{MaxKeys: s.cfg.MaxDocumentKeys, MaxNodes: s.cfg.MaxDocumentNodes}
}

// checkClientDocument refuses documents beyond the complexity limits, server-managed fields at
// the top level and, at any depth, field names Mongo treats specially ("$…", dotted paths) or
// cannot store.
func checkClientDocument(doc bson.D, lim jsondoc.Limits) error {
	if err := jsondoc.CheckComplexity(doc, lim); err != nil {
		return err
	}
	for _, e := range doc {
		if serverFields[e.Key] {
			return &httpapi.Error{Status: http.StatusBadRequest, Code: "protected_field",
				Message: fmt.Sprintf("%s is set by the server and cannot be sent", e.Key), Details: map[string]any{"field": e.Key}}
		}
	}
	return checkFieldNames(doc, "")
}

func checkFieldNames(v any, path string) error {
	switch t := v.(type) {
	case bson.D:
		for _, e := range t {
			p := e.Key
			if path != "" {
				p = path + "." + e.Key
			}
			if e.Key == "" || strings.HasPrefix(e.Key, "$") || strings.ContainsAny(e.Key, ".\x00") {
				return &httpapi.Error{Status: http.StatusBadRequest, Code: "invalid_field_name",
					Message: fmt.Sprintf("field name %q is not allowed: it must be non-empty, not start with '$' and contain no '.'", e.Key),
					Details: map[string]any{"field": p}}
			}
			if err := checkFieldNames(e.Value, p); err != nil {
				return err
			}
		}
	case bson.A:
		for _, x := range t {
			if err := checkFieldNames(x, path); err != nil {
				return err
			}
		}
	}
	return nil
}

// timestampLayout is RFC 3339 in UTC with fixed millisecond precision, so stored timestamps
// sort correctly as strings and compare correctly in filters.
const timestampLayout = "2006-01-02T15:04:05.000Z"

func timestamp() string { return time.Now().UTC().Format(timestampLayout) }

// writeBSON answers with plain JSON for documents as they come from the driver.
func writeBSON(c echo.Context, status int, v any) error {
	b, err := jsondoc.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	return c.JSONBlob(status, b)
}
