package filter

import (
	"errors"
	"testing"
)

// TestSortAndFieldsRefuseInvalidUTF8: sort and projection names follow the filter path rules,
// including valid UTF-8, which a filter gets from its JSON decoding.
func TestSortAndFieldsRefuseInvalidUTF8(t *testing.T) {
	for _, raw := range []string{"\xff", "-a.\xc3", "a,\xed\xa0\x80"} {
		var fe *Error
		if _, err := ParseSort(raw); !errors.As(err, &fe) {
			t.Errorf("ParseSort(%q) = %v; want a filter error", raw, err)
		}
		if _, err := ParseFields(raw); !errors.As(err, &fe) {
			t.Errorf("ParseFields(%q) = %v; want a filter error", raw, err)
		}
	}
	if _, err := ParseSort("-été,a"); err != nil {
		t.Errorf("ParseSort(-été,a) = %v", err)
	}
}

// TestCheckPath: the exported check is the one sorts and filters use.
func TestCheckPath(t *testing.T) {
	for _, p := range []string{"a", "a.b", "été", "_owner", "-n"} {
		if err := CheckPath(p); err != nil {
			t.Errorf("CheckPath(%q) = %v", p, err)
		}
	}
	for _, p := range []string{"", "$a", "a.$b", "a..b", "a\x00", "\xff", string(make([]byte, maxPathBytes+1))} {
		var fe *Error
		if err := CheckPath(p); !errors.As(err, &fe) {
			t.Errorf("CheckPath(%q) = %v; want a filter error", p, err)
		}
	}
}
