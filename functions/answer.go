package functions

import (
	"bytes"
	"encoding/json"
	"net/textproto"
	"strings"

	"github.com/backpackhq/backpack/core"
	"golang.org/x/net/http/httpguts"
)

// Answered is what onRequest returned, made an answer: a status, headers in canonical form, and
// the body as JSON (nil for none).
type Answered struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

// responseKeys are the fields of an explicit answer.
var responseKeys = map[string]bool{"status": true, "headers": true, "body": true}

// hopHeaders are the server's to set, never a function's.
var hopHeaders = map[string]bool{"Content-Length": true, "Transfer-Encoding": true, "Connection": true,
	"Keep-Alive": true, "Upgrade": true, "Trailer": true, "Te": true, "Proxy-Connection": true}

// Answer reads onRequest's return value. An object whose only fields are status, headers and
// body, with status a whole number from 200 to 599 when present, is an explicit answer; any
// other value is the body of a 200. A header a function may not set is refused, so a mistake
// shows rather than being dropped.
func Answer(out json.RawMessage) (Answered, error) {
	a := Answered{Status: 200, Headers: map[string]string{}, Body: out}
	var fields map[string]json.RawMessage
	if len(out) == 0 || out[0] != '{' || json.Unmarshal(out, &fields) != nil || len(fields) == 0 {
		return a, nil
	}
	for k := range fields {
		if !responseKeys[k] {
			return a, nil
		}
	}
	if raw, ok := fields["status"]; ok {
		var status int
		if err := json.Unmarshal(raw, &status); err != nil || status < 200 || status > 599 || bytes.ContainsAny(raw, ".eE") {
			return a, nil
		}
		a.Status = status
	}
	a.Body = nil
	if raw, ok := fields["body"]; ok && string(raw) != "null" {
		a.Body = raw
	}
	if raw, ok := fields["headers"]; ok && string(raw) != "null" {
		var hs map[string]string
		if err := json.Unmarshal(raw, &hs); err != nil {
			return a, badAnswer("headers must be an object of strings")
		}
		for k, v := range hs {
			name := textproto.CanonicalMIMEHeaderKey(k)
			if !httpguts.ValidHeaderFieldName(k) || !httpguts.ValidHeaderFieldValue(v) {
				return a, badAnswer("header " + k + " is not a valid header")
			}
			if hopHeaders[name] {
				return a, badAnswer("header " + name + " is the server's to set")
			}
			a.Headers[name] = strings.TrimSpace(v)
		}
	}
	return a, nil
}

func badAnswer(msg string) error {
	return core.FunctionError(500, "function_error", "the function's answer is not valid: "+msg)
}
