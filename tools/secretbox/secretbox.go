// Package secretbox encrypts the secrets the control plane must be able to read back (backends'
// API keys and admin tokens) before they reach its database, with AES-256-GCM under a key kept
// outside the database, so a leaked database dump or backup reveals none of them.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the AES-256 key length in bytes.
const KeySize = 32

// version prefixes every sealed value so the format can change without guessing.
const version byte = 1

// ErrOpen means a sealed value could not be decrypted: wrong key, or it was altered or moved
// to another record (the associated data did not match).
var ErrOpen = errors.New("secretbox: cannot decrypt (wrong key or tampered value)")

// Box seals and opens values under one key.
type Box struct {
	aead cipher.AEAD
}

// New makes a Box from a KeySize-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secretbox: key is %d bytes; want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secretbox: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secretbox: %w", err)
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext. The associated data (for example "backend/shop/api-key") is not
// stored but must be given again to Open, so a sealed value copied to another record fails.
func (b *Box) Seal(plaintext, associated []byte) []byte {
	nonce := make([]byte, b.aead.NonceSize(), 1+b.aead.NonceSize()+len(plaintext)+b.aead.Overhead())
	_, _ = rand.Read(nonce)
	out := append([]byte{version}, nonce...)
	return b.aead.Seal(out, nonce, plaintext, associated)
}

// Open decrypts what Seal produced with the same key and associated data.
func (b *Box) Open(sealed, associated []byte) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < 1+n+b.aead.Overhead() || sealed[0] != version {
		return nil, ErrOpen
	}
	plain, err := b.aead.Open(nil, sealed[1:1+n], sealed[1+n:], associated)
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}

// ParseKey reads a key written as 64 hex digits or as base64 (standard or URL alphabet, with
// or without padding) of 32 bytes; surrounding whitespace is ignored.
func ParseKey(text string) ([]byte, error) {
	text = strings.TrimSpace(text)
	if k, err := hex.DecodeString(text); err == nil && len(k) == KeySize {
		return k, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(text); err == nil && len(k) == KeySize {
			return k, nil
		}
	}
	return nil, errors.New("secretbox: a key must be 32 bytes written as 64 hex digits or base64 (generate one with: openssl rand -base64 32)")
}

// LoadOrCreateKeyFile reads the key in path, or, when the file does not exist, generates one
// and writes it there (mode 0600): the embedded default's way to have a key with no set-up.
func LoadOrCreateKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key := make([]byte, KeySize)
		_, _ = rand.Read(key)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("secret key file: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("secret key file: %w", err)
		}
		if _, err := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("secret key file: %w", err)
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("secret key file: %w", err)
		}
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("secret key file: %w", err)
	}
	return parseKeyFile(path, b)
}

// LoadKeyFile reads the key in path (a Docker secret, say); the file must exist.
func LoadKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secret key file: %w", err)
	}
	return parseKeyFile(path, b)
}

func parseKeyFile(path string, b []byte) ([]byte, error) {
	key, err := ParseKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return key, nil
}
