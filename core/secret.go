package core

import (
	"crypto/sha256"
	"crypto/subtle"
	"sync/atomic"
)

// Secret is a credential compared in constant time. It is swappable at runtime so that a
// rotated key takes effect without a restart.
type Secret struct {
	digest atomic.Pointer[[sha256.Size]byte]
}

// NewSecret holds value.
func NewSecret(value string) *Secret {
	s := &Secret{}
	s.set(value)
	return s
}

func (s *Secret) set(value string) { s.setDigest(sha256.Sum256([]byte(value))) }

func (s *Secret) setDigest(d [sha256.Size]byte) { s.digest.Store(&d) }

// Matches compares digests, so neither the length nor the content of the secret leaks
// through timing.
func (s *Secret) Matches(candidate string) bool {
	d := sha256.Sum256([]byte(candidate))
	return subtle.ConstantTimeCompare(d[:], s.digest.Load()[:]) == 1
}
