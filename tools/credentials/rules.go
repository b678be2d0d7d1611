package credentials

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Length bounds: a password long enough to resist guessing and short enough that hashing a
// submitted "password" cannot be used to burn CPU; an email as long as SMTP allows.
const (
	MinPasswordRunes = 8
	MaxPasswordBytes = 512
	MaxEmailBytes    = 254
)

// RuleError says which field broke which rule, in words a person can act on; the HTTP edges
// turn it into a 400 with code Code and details {"field": Field}.
type RuleError struct {
	Field   string
	Code    string
	Message string
}

func (e *RuleError) Error() string { return e.Message }

// NormalizeEmail puts an address in Unicode normalization form NFKC, trims and lower-cases it,
// so "Ann@Example.com ", "ａｎｎ＠ｅｘａｍｐｌｅ.ｃｏｍ" (full-width) and "ann@example.com" are one
// account, and checks it is a plain address (no display name, no comments).
func NormalizeEmail(raw string) (string, error) {
	email := strings.ToLower(strings.TrimSpace(norm.NFKC.String(raw)))
	if email == "" {
		return "", &RuleError{"email", "invalid_email", "email is required"}
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || addr.Name != "" || len(email) > MaxEmailBytes ||
		!strings.Contains(email[strings.LastIndex(email, "@")+1:], ".") {
		return "", &RuleError{"email", "invalid_email", "email is not a valid address"}
	}
	return email, nil
}

// CheckPassword applies the rules to a new password: its length, and that it is more than
// white space (a password of spaces is one a person cannot tell they typed wrong, and one a
// form may trim) and holds no NUL character (which C-based tools and password managers cut
// the password at).
func CheckPassword(password string) error {
	switch {
	case strings.IndexByte(password, 0) >= 0:
		return &RuleError{"password", "invalid_password", "password must not contain NUL characters"}
	case strings.TrimFunc(password, unicode.IsSpace) == "" && password != "":
		return &RuleError{"password", "invalid_password", "password must not be only spaces or other white space"}
	case utf8.RuneCountInString(password) < MinPasswordRunes:
		return &RuleError{"password", "invalid_password", fmt.Sprintf("password must be at least %d characters", MinPasswordRunes)}
	case len(password) > MaxPasswordBytes:
		return &RuleError{"password", "invalid_password", fmt.Sprintf("password must be at most %d bytes", MaxPasswordBytes)}
	}
	return nil
}
