package core

import (
	"errors"
	"fmt"
)

// Kind classifies a refusal: what went wrong from the caller's point of view. The edge maps
// each kind to its status code.
type Kind int

// The kinds of refusal.
const (
	// Invalid: the request itself is wrong (a bad parameter, field or name).
	Invalid Kind = iota + 1
	// Unauthenticated: the caller must sign in first.
	Unauthenticated
	// Forbidden: the caller is known but may not do this.
	Forbidden
	// NotFound: what the request names does not exist (or is not the caller's to see).
	NotFound
	// Conflict: the request clashes with the current state (a taken name, a concurrent write).
	Conflict
	// TooLarge: what was sent is over a size limit.
	TooLarge
	// Unavailable: the backend cannot do it now; trying again later may work.
	Unavailable
	// Failed: the backend failed at it; the message says in what state it left the data.
	Failed
)

// Error is a refusal the caller can act on: its Code and Message are what clients see, and
// Details, when set, say which field, limit or quota it concerns.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Details map[string]any
	// Status, when set, is the status to answer with instead of the kind's: a function's
	// HttpError chooses its own.
	Status int
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func newError(kind Kind, code, message string) *Error {
	return &Error{Kind: kind, Code: code, Message: message}
}

func invalid(code, message string) *Error { return newError(Invalid, code, message) }

// FunctionError is a refusal a function made (its HttpError) or caused (a timeout, a crash):
// the status is the function's choice or the runtime's, the code and message are shown as
// they are.
func FunctionError(status int, code, message string) *Error {
	return &Error{Kind: Invalid, Code: code, Message: message, Status: status}
}

// Refusals returned by more than one operation.
var (
	ErrNotSignedIn        = newError(Unauthenticated, "not_signed_in", "sign in first")
	ErrCollectionNotFound = newError(NotFound, "collection_not_found", "no such collection")
	ErrDocumentNotFound   = newError(NotFound, "document_not_found", "no such document")
	ErrFileNotFound       = newError(NotFound, "file_not_found", "no such file")
	ErrFileExists         = newError(Conflict, "file_exists", "a file with this name already exists; overwrite it with PUT or choose another name")
	ErrEmailTaken         = newError(Conflict, "email_taken", "an account with this email already exists")
	ErrInvalidRule        = invalid("invalid_rule", fmt.Sprintf("rule must be %q, %q or %q", RuleAuthenticated, RuleOwner, RulePublicRead))
	ErrInvalidQuery       = invalid("invalid_query", "the database could not run this query; check the filter, sort and fields")
	ErrBusy               = newError(Unavailable, "busy", "the backend is busy with other uploads; try again in a moment")
	ErrWriteConflict      = newError(Conflict, "write_conflict", "the document kept changing while it was being replaced; try again")
)

// ErrNoUser is returned when no user has the id or email asked for. It is not a refusal in
// itself: the edge decides what it means (a failed sign-in, a 404, an anonymous session).
var ErrNoUser = errors.New("no such user")
