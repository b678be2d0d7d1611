// Package jsondoc converts user documents between JSON and BSON. It exists because
// encoding/json loses key order and integer precision and accepts inputs (duplicate keys,
// unbounded nesting, invalid UTF-8) that a database API must refuse, while the driver's
// Extended JSON is not what API clients expect to read.
package jsondoc

import "fmt"

// Default limits, used when a Limits field is zero or negative.
const (
	defaultMaxDepth = 32
	defaultMaxBytes = 1 << 20
)

// Limits bound what DecodeObject accepts, so that a hostile client cannot make the server
// build huge or deeply nested values. A zero field means the default: depth 32, 1 MiB.
type Limits struct {
	// MaxDepth is the deepest nesting of objects and arrays allowed; the top-level object is
	// depth 1.
	MaxDepth int
	// MaxBytes is the largest input accepted, in bytes.
	MaxBytes int
}

func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = defaultMaxDepth
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = defaultMaxBytes
	}
	return l
}

// Error is the type of every DecodeObject error. It says where the input went wrong so that
// an API user can fix their document.
type Error struct {
	// Offset is the number of input bytes read when the problem was noticed, so it is the
	// 1-based position of the offending byte (as in encoding/json's SyntaxError).
	Offset int64
	// Msg describes the problem in plain English.
	Msg string
}

// Error formats the problem with its position, for example
// "invalid JSON at byte 12: duplicate key \"a\"".
func (e *Error) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d: %s", e.Offset, e.Msg)
}
