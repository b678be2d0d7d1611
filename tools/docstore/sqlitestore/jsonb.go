package sqlitestore

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Documents are stored in SQLite's binary JSON format (JSONB, https://sqlite.org/jsonb.html),
// written and read here in Go so that neither direction parses JSON text. JSON has one number
// type and no ObjectIDs or dates, so the BSON types are told apart as follows:
//   - int32 is a JSONB INT, int64 a JSONB INT5 (JSON5 hexadecimal, as SQLite requires of
//     INT5): SQLite reads both as integers, so SQL compares them as numbers (but for
//     math.MinInt64, which it reads as the equal double);
//   - float64 is a JSONB FLOAT whose text always has a '.' or an exponent;
//   - an ObjectID is {"$oid": "<24 hex digits>"} and a date {"$date": "<ISO 8601, UTC, ms>"},
//     whose JSON text orders as the values do; a NaN is {"$numberDouble": "NaN"}.
//
// Clients cannot send field names starting with "$", so these wrappers are unambiguous.

// JSONB element types.
const (
	jbNull    = 0
	jbTrue    = 1
	jbFalse   = 2
	jbInt     = 3
	jbInt5    = 4
	jbFloat   = 5
	jbFloat5  = 6
	jbText    = 7
	jbTextJ   = 8
	jbText5   = 9
	jbTextRaw = 10
	jbArray   = 11
	jbObject  = 12
)

// Wrapper keys for the types JSON lacks.
const (
	keyOID    = "$oid"
	keyDate   = "$date"
	keyDouble = "$numberDouble"
)

// dateLayout writes dates so that their text sorts as they do (years 0 to 9999).
const dateLayout = "2006-01-02T15:04:05.000Z"

// errUnsupported is wrapped for values the engine cannot store.
var errUnsupported = errors.New("unsupported value type")

// encodeDoc returns the JSONB form of a document.
func encodeDoc(doc bson.D) ([]byte, error) {
	buf := make([]byte, 0, 256)
	return appendDoc(buf, doc, 0)
}

// maxNesting stops runaway recursion on cyclic or absurdly deep values.
const maxNesting = 200

// appendHeader writes an element header for a payload of n bytes.
func appendHeader(buf []byte, typ byte, n int) []byte {
	switch {
	case n <= 11:
		return append(buf, byte(n)<<4|typ)
	case n <= 0xff:
		return append(buf, 0xc0|typ, byte(n))
	case n <= 0xffff:
		return append(buf, 0xd0|typ, byte(n>>8), byte(n))
	case n <= 0xffffffff:
		return binary.BigEndian.AppendUint32(append(buf, 0xe0|typ), uint32(n))
	default:
		return binary.BigEndian.AppendUint64(append(buf, 0xf0|typ), uint64(n))
	}
}

// appendContainer writes an array or object whose payload fill appends.
func appendContainer(buf []byte, typ byte, fill func([]byte) ([]byte, error)) ([]byte, error) {
	start := len(buf)
	buf = append(buf, 0)
	buf, err := fill(buf)
	if err != nil {
		return nil, err
	}
	n := len(buf) - start - 1
	if n <= 11 {
		buf[start] = byte(n)<<4 | typ
		return buf, nil
	}
	hdr := appendHeader(nil, typ, n)
	buf = append(buf, hdr[1:]...)
	copy(buf[start+len(hdr):], buf[start+1:start+1+n])
	copy(buf[start:], hdr)
	return buf, nil
}

func appendText(buf []byte, s string) []byte {
	typ := byte(jbText)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' {
			typ = jbTextRaw
			break
		}
	}
	return append(appendHeader(buf, typ, len(s)), s...)
}

func appendDoc(buf []byte, doc bson.D, depth int) ([]byte, error) {
	if depth > maxNesting {
		return nil, fmt.Errorf("document nests deeper than %d levels: %w", maxNesting, errUnsupported)
	}
	return appendContainer(buf, jbObject, func(b []byte) ([]byte, error) {
		var err error
		for _, e := range doc {
			b = appendText(b, e.Key)
			if b, err = appendValue(b, e.Value, depth+1); err != nil {
				return nil, err
			}
		}
		return b, nil
	})
}

func appendWrapper(buf []byte, key, val string) []byte {
	buf, _ = appendContainer(buf, jbObject, func(b []byte) ([]byte, error) {
		return appendText(appendText(b, key), val), nil
	})
	return buf
}

// appendValue writes one value.
func appendValue(buf []byte, v any, depth int) ([]byte, error) {
	switch t := v.(type) {
	case nil, bson.Null:
		return append(buf, jbNull), nil
	case bool:
		if t {
			return append(buf, jbTrue), nil
		}
		return append(buf, jbFalse), nil
	case int32:
		return appendInt32(buf, t), nil
	case int64:
		return appendInt64(buf, t), nil
	case int:
		if t >= math.MinInt32 && t <= math.MaxInt32 {
			return appendInt32(buf, int32(t)), nil
		}
		return appendInt64(buf, int64(t)), nil
	case float64:
		return appendFloat(buf, t), nil
	case string:
		return appendText(buf, t), nil
	case bson.ObjectID:
		return appendWrapper(buf, keyOID, t.Hex()), nil
	case bson.DateTime:
		return appendWrapper(buf, keyDate, formatDate(t)), nil
	case time.Time:
		return appendWrapper(buf, keyDate, formatDate(bson.NewDateTimeFromTime(t))), nil
	case bson.D:
		return appendDoc(buf, t, depth)
	case bson.A:
		return appendArray(buf, t, depth)
	case []any:
		return appendArray(buf, t, depth)
	}
	conv, err := viaBSON(v)
	if err != nil {
		return nil, err
	}
	return appendValue(buf, conv, depth)
}

func appendArray(buf []byte, arr []any, depth int) ([]byte, error) {
	if depth > maxNesting {
		return nil, fmt.Errorf("document nests deeper than %d levels: %w", maxNesting, errUnsupported)
	}
	return appendContainer(buf, jbArray, func(b []byte) ([]byte, error) {
		var err error
		for _, el := range arr {
			if b, err = appendValue(b, el, depth+1); err != nil {
				return nil, err
			}
		}
		return b, nil
	})
}

// viaBSON turns any other value the BSON codec knows (structs, maps, typed slices) into the
// types above, the way the mongo driver would store it.
func viaBSON(v any) (any, error) {
	raw, err := bson.Marshal(bson.D{{Key: "v", Value: v}})
	if err != nil {
		return nil, fmt.Errorf("%T: %w", v, errUnsupported)
	}
	var doc bson.D
	if err := bson.Unmarshal(raw, &doc); err != nil || len(doc) != 1 {
		return nil, fmt.Errorf("%T: %w", v, errUnsupported)
	}
	switch doc[0].Value.(type) {
	case nil, bool, int32, int64, float64, string, bson.ObjectID, bson.DateTime, bson.D, bson.A:
		return doc[0].Value, nil
	}
	return nil, fmt.Errorf("%T: %w", v, errUnsupported)
}

func appendInt32(buf []byte, n int32) []byte {
	var tmp [12]byte
	s := strconv.AppendInt(tmp[:0], int64(n), 10)
	return append(appendHeader(buf, jbInt, len(s)), s...)
}

func appendInt64(buf []byte, n int64) []byte {
	var tmp [24]byte
	s := tmp[:0]
	u := uint64(n)
	if n < 0 {
		s = append(s, '-')
		u = -u
	}
	s = append(s, '0', 'x')
	s = strconv.AppendUint(s, u, 16)
	return append(appendHeader(buf, jbInt5, len(s)), s...)
}

func appendFloat(buf []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return appendWrapper(buf, keyDouble, "NaN")
	case math.IsInf(f, 1):
		return append(appendHeader(buf, jbFloat, 5), "9e999"...)
	case math.IsInf(f, -1):
		return append(appendHeader(buf, jbFloat, 6), "-9e999"...)
	}
	var tmp [32]byte
	s := strconv.AppendFloat(tmp[:0], f, 'g', -1, 64)
	if !strings.ContainsAny(string(s), ".e") {
		s = append(s, '.', '0')
	}
	return append(appendHeader(buf, jbFloat, len(s)), s...)
}

func formatDate(d bson.DateTime) string {
	return d.Time().UTC().Format(dateLayout)
}

// decodeDoc reads a stored document.
func decodeDoc(b []byte) (bson.D, error) {
	v, rest, err := decodeValue(b)
	if err != nil {
		return nil, err
	}
	doc, ok := v.(bson.D)
	if !ok || len(rest) != 0 {
		return nil, errors.New("stored document is not a JSONB object")
	}
	return doc, nil
}

var errCorrupt = errors.New("corrupt JSONB")

// element splits the first element off b.
func element(b []byte) (typ byte, payload, rest []byte, err error) {
	if len(b) == 0 {
		return 0, nil, nil, errCorrupt
	}
	typ = b[0] & 0x0f
	szc := b[0] >> 4
	hdr := 1
	var n uint64
	switch {
	case szc <= 11:
		n = uint64(szc)
	case szc == 12 && len(b) >= 2:
		n, hdr = uint64(b[1]), 2
	case szc == 13 && len(b) >= 3:
		n, hdr = uint64(binary.BigEndian.Uint16(b[1:])), 3
	case szc == 14 && len(b) >= 5:
		n, hdr = uint64(binary.BigEndian.Uint32(b[1:])), 5
	case szc == 15 && len(b) >= 9:
		n, hdr = binary.BigEndian.Uint64(b[1:]), 9
	default:
		return 0, nil, nil, errCorrupt
	}
	if n > uint64(len(b)-hdr) {
		return 0, nil, nil, errCorrupt
	}
	end := hdr + int(n)
	return typ, b[hdr:end], b[end:], nil
}

// decodeValue reads the first element of b.
func decodeValue(b []byte) (any, []byte, error) {
	typ, p, rest, err := element(b)
	if err != nil {
		return nil, nil, err
	}
	switch typ {
	case jbNull:
		return nil, rest, nil
	case jbTrue:
		return true, rest, nil
	case jbFalse:
		return false, rest, nil
	case jbInt:
		n, err := strconv.ParseInt(string(p), 10, 64)
		if err != nil {
			return nil, nil, errCorrupt
		}
		if n >= math.MinInt32 && n <= math.MaxInt32 {
			return int32(n), rest, nil
		}
		return n, rest, nil
	case jbInt5:
		n, err := parseInt5(string(p))
		return n, rest, err
	case jbFloat, jbFloat5:
		f, err := strconv.ParseFloat(string(p), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, nil, errCorrupt
		}
		return f, rest, nil
	case jbText, jbTextRaw:
		return string(p), rest, nil
	case jbTextJ, jbText5:
		var s string
		if err := json.Unmarshal([]byte(`"`+string(p)+`"`), &s); err != nil {
			return nil, nil, errCorrupt
		}
		return s, rest, nil
	case jbArray:
		arr := bson.A{}
		for len(p) > 0 {
			var v any
			if v, p, err = decodeValue(p); err != nil {
				return nil, nil, err
			}
			arr = append(arr, v)
		}
		return arr, rest, nil
	case jbObject:
		doc := bson.D{}
		for len(p) > 0 {
			k, r, err := decodeValue(p)
			if err != nil {
				return nil, nil, err
			}
			key, ok := k.(string)
			if !ok {
				return nil, nil, errCorrupt
			}
			var v any
			if v, p, err = decodeValue(r); err != nil {
				return nil, nil, err
			}
			doc = append(doc, bson.E{Key: key, Value: v})
		}
		return unwrap(doc), rest, nil
	}
	return nil, nil, errCorrupt
}

func parseInt5(s string) (int64, error) {
	neg := false
	if rest, ok := strings.CutPrefix(s, "-"); ok {
		neg, s = true, rest
	} else if rest, ok := strings.CutPrefix(s, "+"); ok {
		s = rest
	}
	var u uint64
	var err error
	if hex, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		u, err = strconv.ParseUint(hex, 16, 64)
	} else {
		u, err = strconv.ParseUint(s, 10, 64)
	}
	if err != nil {
		return 0, errCorrupt
	}
	if neg {
		return -int64(u), nil
	}
	return int64(u), nil
}

// unwrap turns the wrapper objects back into the values they stand for.
func unwrap(doc bson.D) any {
	if len(doc) != 1 {
		return doc
	}
	s, ok := doc[0].Value.(string)
	if !ok {
		return doc
	}
	switch doc[0].Key {
	case keyOID:
		if id, err := bson.ObjectIDFromHex(s); err == nil {
			return id
		}
	case keyDate:
		if t, err := time.Parse(dateLayout, s); err == nil {
			return bson.NewDateTimeFromTime(t)
		}
	case keyDouble:
		if s == "NaN" {
			return math.NaN()
		}
	}
	return doc
}

// jsonText renders a scalar the way SQLite's json_extract returns a wrapper object, so SQL
// can compare stored ObjectIDs and dates with query values.
func wrapperText(key, val string) string {
	return `{"` + key + `":"` + val + `"}`
}

// fastSortKey is sortKey for a path that reaches a scalar through objects only, read straight
// from the JSONB without decoding the document; ok is false when the path meets an array, which
// needs sortKey's element-wise rule.
func fastSortKey(doc []byte, path string) ([]byte, bool) {
	cur := doc
	for path != "" {
		part, rest, _ := strings.Cut(path, ".")
		path = rest
		typ, p, _, err := element(cur)
		if err != nil || typ == jbArray {
			return nil, false
		}
		if typ != jbObject {
			return []byte{classNull}, true
		}
		found := false
		for len(p) > 0 {
			ktyp, kp, after, err := element(p)
			if err != nil {
				return nil, false
			}
			_, _, next, err := element(after)
			if err != nil {
				return nil, false
			}
			if (ktyp == jbText || ktyp == jbTextRaw) && string(kp) == part {
				cur, found = after[:len(after)-len(next)], true
				break
			}
			if ktyp != jbText && ktyp != jbTextRaw {
				return nil, false
			}
			p = next
		}
		if !found {
			return []byte{classNull}, true
		}
	}
	typ, p, _, err := element(cur)
	if err != nil {
		return nil, false
	}
	switch typ {
	case jbNull:
		return []byte{classNull}, true
	case jbTrue:
		return []byte{classBool, 1}, true
	case jbFalse:
		return []byte{classBool, 0}, true
	case jbText, jbTextRaw:
		return append(append(make([]byte, 0, 1+len(p)), classString), p...), true
	case jbInt, jbFloat:
		f, err := strconv.ParseFloat(string(p), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, false
		}
		return appendKey(make([]byte, 0, 9), f), true
	case jbArray:
		return nil, false
	}
	v, _, err := decodeValue(cur)
	if err != nil {
		return nil, false
	}
	if _, isDoc := v.(bson.D); isDoc {
		return nil, false
	}
	return appendKey(nil, v), true
}
