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
	defaultMaxKeys  = 1000
	defaultMaxNodes = 10000
)

// Limits bound what DecodeObject accepts, so that a hostile client cannot make the server
// build huge or deeply nested values, nor hand the database documents whose width it handles
// in quadratic time. A zero field means the default: depth 32, 1 MiB, 1,000 keys per object,
// 10,000 values.
type Limits struct {
	// MaxDepth is the deepest nesting of objects and arrays allowed; the top-level object is
	// depth 1.
	MaxDepth int
	// MaxBytes is the largest input accepted, in bytes.
	MaxBytes int
	// MaxKeys is the most members any one object may have.
	MaxKeys int
	// MaxNodes is the most values the whole document may hold: every member and array element
	// counts, nested objects and arrays included; the top-level object itself does not.
	MaxNodes int
}

func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = defaultMaxDepth
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = defaultMaxBytes
	}
	if l.MaxKeys <= 0 {
		l.MaxKeys = defaultMaxKeys
	}
	if l.MaxNodes <= 0 {
		l.MaxNodes = defaultMaxNodes
	}
	return l
}

// Names of the complexity limits, as Error.Limit reports them.
const (
	LimitKeys  = "keysPerObject"
	LimitNodes = "nodes"
)

// Error is the type of every DecodeObject error. It says where the input went wrong so that
// an API user can fix their document.
type Error struct {
	// Offset is the number of input bytes read when the problem was noticed, so it is the
	// 1-based position of the offending byte (as in encoding/json's SyntaxError).
	Offset int64
	// Msg describes the problem in plain English.
	Msg string
	// Limit is set when the input is valid JSON but too complex to accept: LimitKeys or
	// LimitNodes. Max is then that limit's value. Syntax, size and depth errors leave it empty.
	Limit string
	Max   int
}

// Error formats the problem with its position, for example
// "invalid JSON at byte 12: duplicate key \"a\"".
func (e *Error) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d: %s", e.Offset, e.Msg)
}
