package secretbox

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSealOpen(t *testing.T) {
	key := bytes.Repeat([]byte{7}, KeySize)
	box, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	ad := []byte("backend/shop/api-key")
	sealed := box.Seal([]byte("s3cret-value"), ad)
	if bytes.Contains(sealed, []byte("s3cret")) {
		t.Fatal("sealed value contains the plaintext")
	}
	if again := box.Seal([]byte("s3cret-value"), ad); bytes.Equal(again, sealed) {
		t.Fatal("two seals of one value are equal: nonce reused")
	}
	got, err := box.Open(sealed, ad)
	if err != nil || string(got) != "s3cret-value" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	other, _ := New(bytes.Repeat([]byte{8}, KeySize))
	tampered := append([]byte(nil), sealed...)
	tampered[len(tampered)-1] ^= 1
	for name, tc := range map[string]struct {
		box    *Box
		sealed []byte
		ad     string
	}{
		"wrong key":            {other, sealed, string(ad)},
		"moved to other field": {box, sealed, "backend/shop/admin-token"},
		"tampered":             {box, tampered, string(ad)},
		"truncated":            {box, sealed[:10], string(ad)},
		"empty":                {box, nil, string(ad)},
	} {
		if _, err := tc.box.Open(tc.sealed, []byte(tc.ad)); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: Open = %v; want ErrOpen", name, err)
		}
	}
	if _, err := New(key[:16]); err == nil {
		t.Error("a 16-byte key was accepted")
	}
}

func TestParseKey(t *testing.T) {
	key := bytes.Repeat([]byte{0xfe}, KeySize)
	for _, text := range []string{hex.EncodeToString(key), base64.StdEncoding.EncodeToString(key) + "\n",
		base64.RawURLEncoding.EncodeToString(key)} {
		if got, err := ParseKey(text); err != nil || !bytes.Equal(got, key) {
			t.Errorf("ParseKey(%q) = %x, %v", text, got, err)
		}
	}
	for _, bad := range []string{"", "short", hex.EncodeToString(key[:16]), base64.StdEncoding.EncodeToString(append(key, 1))} {
		if _, err := ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
		}
	}
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "secret.key")
	first, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v", err, fi.Mode())
	}
	second, err := LoadOrCreateKeyFile(path)
	if err != nil || !bytes.Equal(first, second) {
		t.Fatalf("reloaded key differs: %v", err)
	}
	_ = os.WriteFile(path, []byte("garbage"), 0o600)
	if _, err := LoadOrCreateKeyFile(path); err == nil {
		t.Fatal("a garbage key file was accepted")
	}
}
