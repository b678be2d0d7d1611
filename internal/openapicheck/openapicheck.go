// Package openapicheck holds what the tests of both hand-written OpenAPI documents (a
// backend's and the control plane's) need to check that every $ref in them resolves.
package openapicheck

import (
	"errors"
	"strings"
)

// Refs returns every "$ref" value in a decoded JSON document.
func Refs(doc any) []string {
	var refs []string
	collect(doc, &refs)
	return refs
}

func collect(v any, refs *[]string) {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if s, ok := x.(string); ok && k == "$ref" {
				*refs = append(*refs, s)
				continue
			}
			collect(x, refs)
		}
	case []any:
		for _, x := range t {
			collect(x, refs)
		}
	}
}

// Resolve follows a local JSON pointer reference ("#/components/schemas/Error") in the decoded
// document root and insists that it points at a component.
func Resolve(root any, ref string) (any, error) {
	ptr, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, errors.New("only local references (#/...) are allowed")
	}
	if !strings.HasPrefix(ptr, "components/") {
		return nil, errors.New("references must point into #/components")
	}
	cur := root
	for _, part := range strings.Split(ptr, "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, errors.New("cannot descend into " + part)
		}
		if cur, ok = m[part]; !ok {
			return nil, errors.New("no " + part)
		}
	}
	return cur, nil
}
