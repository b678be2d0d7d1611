// Package filter validates Mongo-style query filters, sort orders and projections that come
// from untrusted API clients. Only a small allow-list of query operators passes, so a client
// cannot run server-side JavaScript ($where, $function), costly expressions ($expr) or anything
// else the API has not promised, and size caps keep every query cheap to check and to run.
package filter

import (
	"fmt"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/backpackhq/backpack/tools/jsondoc"
)

// Caps on what a client may send.
const (
	maxFilterBytes      = 8 << 10 // JSON text of a filter
	maxDepth            = 8       // levels of objects and arrays in a filter, the top one included
	maxNodes            = 256     // keys plus array elements in a filter
	maxPathBytes        = 256     // one field path
	maxRegexBytes       = 512     // one $regex pattern
	maxSortFields       = 8
	maxProjectionFields = 64
)

// Error is returned for every rejected filter, sort or fields value; Msg is written for the
// API user and is safe to show in a 400 response.
type Error struct {
	Msg string
}

// Error returns Msg.
func (e *Error) Error() string {
	return e.Msg
}

func errorf(format string, args ...any) error {
	return &Error{Msg: fmt.Sprintf(format, args...)}
}

// Parse turns the JSON text of a ?filter= query parameter into a filter for the official
// driver, after the checks of Validate. An empty or all-whitespace string is the empty filter,
// which matches every document.
func Parse(raw string) (bson.D, error) {
	if len(raw) > maxFilterBytes {
		return nil, errorf("filter is larger than %d bytes", maxFilterBytes)
	}
	if strings.TrimSpace(raw) == "" {
		return bson.D{}, nil
	}
	doc, err := jsondoc.DecodeObject([]byte(raw), jsondoc.Limits{MaxDepth: maxDepth, MaxBytes: maxFilterBytes})
	if err != nil {
		return nil, errorf("filter: %v", err)
	}
	return Validate(doc)
}

// Validate checks an already-decoded filter document (as jsondoc.DecodeObject produces it,
// for example the query of a websocket message) and returns the filter to give the driver:
// a copy in which string values of the _id field that spell an ObjectID are ObjectIDs, so
// clients can filter by id as they see it in JSON. The input is not modified.
func Validate(doc bson.D) (bson.D, error) {
	var v validator
	return v.filter(doc, 1)
}
