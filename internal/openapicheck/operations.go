package openapicheck

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

// CheckOperations checks what every operation of any document must have: a unique
// operationId, responses, and every {parameter} of its path declared and required (inline or
// through a $ref into raw). It returns the operations for the caller's own checks.
func CheckOperations(t testing.TB, doc Document, raw any) map[string]Operation {
	t.Helper()
	ops := Operations(t, doc)
	seenIDs := map[string]string{}
	for key, op := range ops {
		if op.OperationID == "" {
			t.Errorf("%s has no operationId", key)
		} else if prev, dup := seenIDs[op.OperationID]; dup {
			t.Errorf("operationId %q is used by both %s and %s", op.OperationID, prev, key)
		} else {
			seenIDs[op.OperationID] = key
		}
		if len(op.Responses) == 0 {
			t.Errorf("%s has no responses", key)
		}
		_, path, _ := strings.Cut(key, " ")
		declared := map[string]bool{}
		for _, p := range op.Parameters {
			if p.Ref != "" {
				target, err := Resolve(raw, p.Ref)
				if err != nil {
					continue // the caller's $ref check reports it
				}
				b, _ := json.Marshal(target)
				p = Parameter{}
				_ = json.Unmarshal(b, &p)
			}
			if p.In == "path" {
				if !p.Required {
					t.Errorf("%s: path parameter %q must be required", key, p.Name)
				}
				declared[p.Name] = true
			}
		}
		for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
			if !declared[m[1]] {
				t.Errorf("%s: path parameter %q is not declared", key, m[1])
			}
		}
	}
	return ops
}
