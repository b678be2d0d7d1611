package filter

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// checkPath applies the rules for a field path in a filter, sort or projection: non-empty,
// at most maxPathBytes, valid UTF-8 (a filter's come from JSON and always are; a ?sort= or
// ?fields= may carry any bytes), no NUL, no empty part between dots, and no part starting
// with "$" (which Mongo would read as an operator or positional element).
func checkPath(path string) error {
	switch {
	case path == "":
		return errorf("field name must not be empty")
	case len(path) > maxPathBytes:
		return errorf("field name is longer than %d bytes", maxPathBytes)
	case !utf8.ValidString(path):
		return errorf("field name %q is not valid UTF-8", path)
	case strings.IndexByte(path, 0) >= 0:
		return errorf("field name %q contains a NUL character", path)
	}
	for i, part := range strings.Split(path, ".") {
		switch {
		case part == "":
			return errorf("field name %q has an empty part between dots", path)
		case strings.HasPrefix(part, "$") && i == 0:
			return errorf("field name %q must not start with %q", path, "$")
		case strings.HasPrefix(part, "$"):
			return errorf("field name %q has a part starting with %q", path, "$")
		}
	}
	return nil
}

// CheckPath applies the same rules to a field path that reaches the database by another way,
// such as an index's fields on the admin port, so every path the API accepts follows one set
// of rules. A broken rule gives a *Error whose Msg can be shown to the caller.
func CheckPath(path string) error {
	return checkPath(path)
}

// pathError prefixes a field path error with the parameter it came from.
func pathError(param string, err error) error {
	return &Error{Msg: fmt.Sprintf("%s: %v", param, err)}
}
