package jsondoc

import (
	"errors"
	"reflect"
	"testing"
)

// FuzzDecodeObject checks that DecodeObject never panics, that its errors are *Error, and that
// whatever it accepts Marshal writes back as JSON that decodes to an equal document. The
// property holds for floats too because Marshal writes every float so that it reads back as
// the same float64, and DecodeObject never yields NaN or infinities.
func FuzzDecodeObject(f *testing.F) {
	for _, seed := range []string{
		`{}`,
		`{"a":1,"b":[true,false,null],"c":{"d":"e"}}`,
		`{"n":9007199254740993,"f":1.5,"e":1e300,"z":-0}`,
		`{"s":"\u00e9\ud83d\ude00\u2028<>&\"\\"}`,
		`{"a":1,"a":2}`,
		`{"a":1e400}`,
		"{\"\xff\":1}",
		`[1]`,
		`{"a":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := DecodeObject(data, Limits{})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is a %T, want *Error", err, err)
			}
			return
		}
		out, err := Marshal(doc)
		if err != nil {
			t.Fatalf("Marshal of decoded %q failed: %v", data, err)
		}
		// Marshal may write a document up to about three times longer (1e5 becomes 100000.0).
		again, err := DecodeObject(out, Limits{MaxBytes: 4 << 20})
		if err != nil {
			t.Fatalf("re-decoding %s (from %q) failed: %v", out, data, err)
		}
		if !reflect.DeepEqual(doc, again) {
			t.Fatalf("round trip of %q changed the document: %#v became %#v", data, doc, again)
		}
	})
}
