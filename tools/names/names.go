// Package names validates the names clients choose — collections, backends, uploaded files — at
// the edge, before they reach a database, a file path, a DNS label or a Docker object.
package names

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Error explains why a name was refused, in words fit for an API response.
type Error struct {
	Kind string // "collection", "backend", "filename" or "bucket"
	Name string
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("invalid %s name %q: %s", e.Kind, e.Name, e.Msg) }

var (
	collectionPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,63}$`)
	backendPattern    = regexp.MustCompile(`^[a-z][a-z0-9-]{1,30}[a-z0-9]$`)
	bucketPattern     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
)

// reservedCollections are the first path segments the API itself answers; a collection with one
// of these names could never be reached. Compared case-insensitively so "Auth" cannot shadow it
// in a client that lower-cases paths.
var reservedCollections = map[string]bool{
	"auth": true, "files": true, "collections": true, "ws": true, "healthz": true,
	"readyz": true, "metrics": true, "admin": true, "openapi": true, "sdk": true, "fn": true,
}

// reservedBackends are subdomains the platform itself uses.
var reservedBackends = map[string]bool{"admin": true, "www": true, "traefik": true, "api": true}

// Collection checks a collection name against the contract:
// ^[A-Za-z][A-Za-z0-9_-]{0,63}$ and not reserved.
func Collection(name string) error {
	if !collectionPattern.MatchString(name) {
		return &Error{"collection", name, "must start with a letter and contain only letters, digits, '_' or '-' (at most 64 characters)"}
	}
	if reservedCollections[strings.ToLower(name)] {
		return &Error{"collection", name, "is reserved by the API"}
	}
	return nil
}

// Backend checks a backend name: a DNS label ^[a-z][a-z0-9-]{1,30}[a-z0-9]$ that does not end
// in "-be" (the API's subdomain suffix), is not reserved, and is not an IDNA-style label
// ("xn--…": hyphens in the third and fourth places), which browsers would decode.
func Backend(name string) error {
	if !backendPattern.MatchString(name) {
		return &Error{"backend", name, "must be 3 to 32 lowercase letters, digits or '-', start with a letter and not end with '-'"}
	}
	if strings.HasSuffix(name, "-be") {
		return &Error{"backend", name, "must not end in \"-be\", which is the API's subdomain suffix"}
	}
	if len(name) >= 4 && name[2:4] == "--" {
		return &Error{"backend", name, "must not have '--' in the third and fourth places (reserved for internationalised domain names)"}
	}
	if reservedBackends[name] {
		return &Error{"backend", name, "is reserved by the platform"}
	}
	return nil
}

// MaxFilenameBytes is the longest filename most filesystems accept.
const MaxFilenameBytes = 255

// Filename checks the name of an uploaded file. The name becomes a path element under the
// owner's directory, so anything that could change the directory — separators, "..", NUL —
// is refused, as are control characters that would corrupt headers and logs.
func Filename(name string) error {
	switch {
	case name == "":
		return &Error{"filename", name, "must not be empty"}
	case len(name) > MaxFilenameBytes:
		return &Error{"filename", name, fmt.Sprintf("must be at most %d bytes", MaxFilenameBytes)}
	case !utf8.ValidString(name):
		return &Error{"filename", name, "must be valid UTF-8"}
	case strings.ContainsAny(name, `/\`):
		return &Error{"filename", name, "must not contain '/' or '\\'"}
	case strings.Contains(name, ".."):
		return &Error{"filename", name, "must not contain '..'"}
	case name == ".":
		return &Error{"filename", name, "must not be '.'"}
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return &Error{"filename", name, "must not contain control characters"}
		}
	}
	return nil
}

// Bucket checks a file bucket label: ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$.
func Bucket(name string) error {
	if !bucketPattern.MatchString(name) {
		return &Error{"bucket", name, "must be 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit"}
	}
	return nil
}
