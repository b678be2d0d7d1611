package names

import (
	"errors"
	"strings"
	"testing"
)

func TestCollection(t *testing.T) {
	valid := []string{"cars", "Cars", "a", "my-coll_1", "x" + strings.Repeat("y", 63)}
	invalid := []string{"", "1cars", "_private", "-x", "system.users", "a.b", "a b", "a/b", "auth", "Files",
		"collections", "ws", "healthz", "readyz", "metrics", "admin", "sdk.js", "x" + strings.Repeat("y", 64),
		"cars$", "cär", "a\x00", "openapi"}
	for _, n := range valid {
		if err := Collection(n); err != nil {
			t.Errorf("Collection(%q) = %v, want nil", n, err)
		}
	}
	for _, n := range invalid {
		var e *Error
		if err := Collection(n); !errors.As(err, &e) {
			t.Errorf("Collection(%q) = %v, want *Error", n, err)
		}
	}
}

func TestBackend(t *testing.T) {
	valid := []string{"shop", "my-app", "a1b", "a-b", "abc--d", "a" + strings.Repeat("b", 31), "abc-b"}
	invalid := []string{"", "ab", "a", "Shop", "1shop", "shop-", "-shop", "shop-be", "my-app-be", "admin", "www",
		"traefik", "api", "xn--abc", "ab--", "a" + strings.Repeat("b", 32), "sh_op", "shop`", "shop)", "shöp",
		"shop.example", "a b", "shop\n", "café"}
	for _, n := range valid {
		if err := Backend(n); err != nil {
			t.Errorf("Backend(%q) = %v, want nil", n, err)
		}
	}
	for _, n := range invalid {
		if err := Backend(n); err == nil {
			t.Errorf("Backend(%q) = nil, want error", n)
		}
	}
}

func TestFilename(t *testing.T) {
	valid := []string{"photo.jpg", "a", "My File (1).PDF", "résumé.txt", ".hidden", "a.b.c", strings.Repeat("x", 255), "日本.png"}
	invalid := []string{"", ".", "..", "../etc/passwd", "a/b", `a\b`, "a..b", "x\x00y", "line\nbreak", "tab\t",
		"\x7f", "\u0085", strings.Repeat("x", 256), string([]byte{0xff, 0xfe})}
	for _, n := range valid {
		if err := Filename(n); err != nil {
			t.Errorf("Filename(%q) = %v, want nil", n, err)
		}
	}
	for _, n := range invalid {
		if err := Filename(n); err == nil {
			t.Errorf("Filename(%q) = nil, want error", n)
		}
	}
}

func TestBucket(t *testing.T) {
	for _, n := range []string{"default", "avatars", "v1.2", "a"} {
		if err := Bucket(n); err != nil {
			t.Errorf("Bucket(%q) = %v", n, err)
		}
	}
	for _, n := range []string{"", ".x", "a/b", "a b", strings.Repeat("b", 65)} {
		if err := Bucket(n); err == nil {
			t.Errorf("Bucket(%q) = nil, want error", n)
		}
	}
}
