package credentials

import (
	"errors"
	"strings"
	"testing"
)

// TestNormalizeEmailNFKC: compatibility forms of one address (full-width letters and "＠",
// ligatures, an ideographic space around it) normalize to the one plain address.
func TestNormalizeEmailNFKC(t *testing.T) {
	for raw, want := range map[string]string{
		"ａｎｎ＠ｅｘａｍｐｌｅ．ｃｏｍ":             "ann@example.com",
		"ＡＮＮ@Example.COM":             "ann@example.com",
		"\u3000ann@example.com\u3000": "ann@example.com",
		"ﬁnn@example.com":             "finn@example.com",
		"ann@ｅｘａｍｐｌｅ.com":             "ann@example.com",
	} {
		if got, err := NormalizeEmail(raw); err != nil || got != want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
}

// TestCheckPasswordContent: a password of white space only, or with a NUL anywhere, is refused
// with a message that says why; other passwords with spaces are fine.
func TestCheckPasswordContent(t *testing.T) {
	for pw, want := range map[string]string{
		strings.Repeat(" ", 12):          "white space",
		strings.Repeat("\t\n ", 4):       "white space",
		strings.Repeat("\u3000", 8):      "white space",
		strings.Repeat("\x00", 8):        "NUL",
		"a long password\x00":            "NUL",
		"\x00" + strings.Repeat("p", 10): "NUL",
	} {
		var re *RuleError
		if err := CheckPassword(pw); !errors.As(err, &re) || re.Field != "password" || re.Code != "invalid_password" || !strings.Contains(re.Message, want) {
			t.Errorf("CheckPassword(%q) = %v; want an invalid_password error mentioning %q", pw, err, want)
		}
	}
	for _, pw := range []string{"a long password", "  spaced out  ", "pass word\t123"} {
		if err := CheckPassword(pw); err != nil {
			t.Errorf("CheckPassword(%q) = %v", pw, err)
		}
	}
}
