package jsondoc

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// maxMarshalDepth stops Marshal on values nested so deeply (or cyclically) that walking them
// would exhaust the stack; no stored document comes close.
const maxMarshalDepth = 1000

// timeLayout is RFC 3339 in UTC with exactly three fractional digits, the precision of BSON
// dates.
const timeLayout = "2006-01-02T15:04:05.000Z"

// Marshal writes plain JSON (not Extended JSON) for BSON values as the driver or DecodeObject
// produce them, so API clients read ordinary JSON:
//   - bson.D keeps its key order; bson.M and map[string]any are written with sorted keys;
//   - bson.A, []any, []bson.D and []bson.M become arrays;
//   - string, bool, nil, int, int32 and int64 are written as they are;
//   - float64 is written so that it reads back as a float (3.0 stays "3.0"), NaN and ±Inf
//     become null;
//   - bson.ObjectID becomes its 24-hex string, bson.DateTime and time.Time an RFC 3339 UTC
//     string with milliseconds, bson.Binary a base64 string, bson.Decimal128 its string;
//   - bson.Regex becomes {"$regex": ..., "$options": ...}, bson.Timestamp its seconds;
//   - bson.Null and bson.Undefined become null;
//   - anything else is written as encoding/json writes it (Go structs with json tags).
//
// HTML characters are not escaped; invalid UTF-8 is replaced by U+FFFD so the output is always
// valid JSON. The only error is for values nested more than 1000 levels deep.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := writeValue(&buf, v, 0); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeValue(buf *bytes.Buffer, v any, depth int) error {
	if depth > maxMarshalDepth {
		return fmt.Errorf("value is nested deeper than %d levels", maxMarshalDepth)
	}
	switch t := v.(type) {
	case nil, bson.Null, bson.Undefined:
		buf.WriteString("null")
	case bson.D:
		return writeDoc(buf, t, depth)
	case bson.M:
		return writeMap(buf, t, depth)
	case map[string]any:
		return writeMap(buf, t, depth)
	case bson.A:
		return writeArray(buf, t, depth)
	case []any:
		return writeArray(buf, t, depth)
	case []bson.D:
		return writeArray(buf, t, depth)
	case []bson.M:
		return writeArray(buf, t, depth)
	case string:
		writeString(buf, t)
	case bool:
		buf.WriteString(strconv.FormatBool(t))
	case int:
		buf.WriteString(strconv.Itoa(t))
	case int32:
		buf.WriteString(strconv.FormatInt(int64(t), 10))
	case int64:
		buf.WriteString(strconv.FormatInt(t, 10))
	case float64:
		writeFloat(buf, t)
	case bson.ObjectID:
		writeString(buf, t.Hex())
	case bson.DateTime:
		writeString(buf, t.Time().UTC().Format(timeLayout))
	case time.Time:
		writeString(buf, t.UTC().Format(timeLayout))
	case bson.Binary:
		writeString(buf, base64.StdEncoding.EncodeToString(t.Data))
	case bson.Decimal128:
		writeString(buf, t.String())
	case bson.Regex:
		return writeDoc(buf, bson.D{{Key: "$regex", Value: t.Pattern}, {Key: "$options", Value: t.Options}}, depth)
	case bson.Timestamp:
		buf.WriteString(strconv.FormatUint(uint64(t.T), 10))
	case bson.JavaScript, bson.Symbol, bson.MinKey, bson.MaxKey, bson.DBPointer, bson.CodeWithScope:
		// BSON types with no JSON counterpart are shown as their text.
		writeString(buf, fmt.Sprint(t))
	default:
		// Anything else (a Go struct with json tags, another Go number type…) is written the
		// way encoding/json writes it, so it reaches clients as JSON rather than Go syntax.
		var out bytes.Buffer
		enc := json.NewEncoder(&out)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(t); err != nil {
			return fmt.Errorf("marshal %T: %w", t, err)
		}
		buf.Write(bytes.TrimSuffix(out.Bytes(), []byte("\n")))
	}
	return nil
}

func writeDoc(buf *bytes.Buffer, doc bson.D, depth int) error {
	buf.WriteByte('{')
	for i, e := range doc {
		if i > 0 {
			buf.WriteByte(',')
		}
		writeString(buf, e.Key)
		buf.WriteByte(':')
		if err := writeValue(buf, e.Value, depth+1); err != nil {
			return err
		}
	}
	buf.WriteByte('}')
	return nil
}

func writeMap[M ~map[string]any](buf *bytes.Buffer, m M, depth int) error {
	buf.WriteByte('{')
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			buf.WriteByte(',')
		}
		writeString(buf, k)
		buf.WriteByte(':')
		if err := writeValue(buf, m[k], depth+1); err != nil {
			return err
		}
	}
	buf.WriteByte('}')
	return nil
}

func writeArray[E any](buf *bytes.Buffer, arr []E, depth int) error {
	buf.WriteByte('[')
	for i, v := range arr {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := writeValue(buf, v, depth+1); err != nil {
			return err
		}
	}
	buf.WriteByte(']')
	return nil
}

// writeFloat writes the shortest form that parses back to the same float64, adding ".0" to
// whole numbers so DecodeObject reads them back as floats rather than integers.
func writeFloat(buf *bytes.Buffer, f float64) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		buf.WriteString("null")
		return
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	buf.WriteString(s)
	if !strings.ContainsAny(s, ".e") {
		buf.WriteString(".0")
	}
}

// writeString writes s as a JSON string, escaping what JSON requires plus U+2028 and U+2029
// (which break JavaScript), and replacing invalid UTF-8 with U+FFFD.
func writeString(buf *bytes.Buffer, s string) {
	buf.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '"' || r == '\\':
			buf.WriteByte('\\')
			buf.WriteByte(byte(r))
		case r == '\n':
			buf.WriteString(`\n`)
		case r == '\r':
			buf.WriteString(`\r`)
		case r == '\t':
			buf.WriteString(`\t`)
		case r < 0x20 || r == '\u2028' || r == '\u2029':
			fmt.Fprintf(buf, `\u%04x`, r)
		case r == utf8.RuneError && size == 1:
			buf.WriteString(`\ufffd`)
		default:
			buf.WriteString(s[i-size : i])
		}
	}
	buf.WriteByte('"')
}
