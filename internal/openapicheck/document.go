package openapicheck

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// Document is the part of an OpenAPI 3 document the sync tests look at.
type Document struct {
	OpenAPI string `json:"openapi"`
	Info    struct {
		Title   string `json:"title"`
		Version string `json:"version"`
	} `json:"info"`
	Security   []map[string][]string                 `json:"security"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		SecuritySchemes map[string]json.RawMessage `json:"securitySchemes"`
	} `json:"components"`
}

// Operation is one operation of a path item.
type Operation struct {
	OperationID string                     `json:"operationId"`
	Responses   map[string]json.RawMessage `json:"responses"`
	Parameters  []Parameter                `json:"parameters"`
	Security    *[]map[string][]string     `json:"security"`
}

// Parameter is a parameter, inline or by reference.
type Parameter struct {
	Ref      string `json:"$ref"`
	Name     string `json:"name"`
	In       string `json:"in"`
	Required bool   `json:"required"`
}

// Methods are the methods an OpenAPI path item can describe (echo's Any also routes CONNECT,
// PROPFIND and REPORT, which OpenAPI cannot name).
var Methods = map[string]bool{
	"get": true, "put": true, "post": true, "delete": true, "options": true, "head": true, "patch": true, "trace": true,
}

// Parse decodes the document both as a Document and as plain JSON (for following $refs).
func Parse(t testing.TB, data []byte) (Document, any) {
	t.Helper()
	var doc Document
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	var raw any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	return doc, raw
}

// Operations returns the document's operations keyed by "METHOD /path", with the path item's
// own parameters added to each operation's.
func Operations(t testing.TB, doc Document) map[string]Operation {
	t.Helper()
	ops := map[string]Operation{}
	for path, item := range doc.Paths {
		var shared []Parameter
		if raw, ok := item["parameters"]; ok {
			if err := json.Unmarshal(raw, &shared); err != nil {
				t.Fatalf("%s: parameters: %v", path, err)
			}
		}
		for method, raw := range item {
			if !Methods[method] {
				continue
			}
			var op Operation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			op.Parameters = append(slices.Clone(shared), op.Parameters...)
			ops[strings.ToUpper(method)+" "+path] = op
		}
	}
	return ops
}
