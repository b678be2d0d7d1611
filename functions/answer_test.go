package functions

import (
	"encoding/json"
	"testing"
)

func TestAnswer(t *testing.T) {
	for _, tc := range []struct {
		out, body string
		status    int
		header    string
		fails     bool
	}{
		{out: `[1,2]`, status: 200, body: `[1,2]`},
		{out: `null`, status: 200, body: `null`},
		{out: `"text"`, status: 200, body: `"text"`},
		{out: `{}`, status: 200, body: `{}`},
		{out: `{"status":"ok"}`, status: 200, body: `{"status":"ok"}`},
		{out: `{"status":201.5}`, status: 200, body: `{"status":201.5}`},
		{out: `{"status":2e2}`, status: 200, body: `{"status":2e2}`},
		{out: `{"status":99}`, status: 200, body: `{"status":99}`},
		{out: `{"status":201}`, status: 201},
		{out: `{"status":404,"body":{"a":1}}`, status: 404, body: `{"a":1}`},
		{out: `{"body":"hi","headers":{"content-type":"text/plain"}}`, status: 200, body: `"hi"`, header: "text/plain"},
		{out: `{"body":1,"other":2}`, status: 200, body: `{"body":1,"other":2}`},
		{out: `{"headers":{"Content-Length":"3"}}`, fails: true},
		{out: `{"headers":{"X-A":"a\nb"}}`, fails: true},
		{out: `{"headers":{"bad name":"x"}}`, fails: true},
		{out: `{"headers":[1]}`, fails: true},
	} {
		a, err := Answer(json.RawMessage(tc.out))
		if tc.fails {
			if err == nil {
				t.Errorf("%s: answered %+v, want a refusal", tc.out, a)
			}
			continue
		}
		if err != nil || a.Status != tc.status || string(a.Body) != tc.body || a.Headers["Content-Type"] != tc.header {
			t.Errorf("%s: %+v %v, want status %d body %s", tc.out, a, err, tc.status, tc.body)
		}
	}
}

// FuzzAnswer holds Answer to its promises for any JSON a function may return: no panic, a
// status from 200 to 599, and a body that is valid JSON.
func FuzzAnswer(f *testing.F) {
	for _, s := range []string{`{"status":201,"body":{"a":1}}`, `{"headers":{"x":"y"}}`, `[1]`, `"s"`, `{"status":"x"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, out string) {
		if !json.Valid([]byte(out)) {
			return
		}
		a, err := Answer(json.RawMessage(out))
		if err != nil {
			return
		}
		if a.Status < 200 || a.Status > 599 {
			t.Fatalf("status %d", a.Status)
		}
		if a.Body != nil && !json.Valid(a.Body) {
			t.Fatalf("body %q", a.Body)
		}
	})
}
