package coreapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"sync/atomic"
)

// secret is a credential compared in constant time. It is swappable at runtime so that a
// rotated key takes effect without a restart.
type secret struct {
	digest atomic.Pointer[[sha256.Size]byte]
}

func newSecret(value string) *secret {
	s := &secret{}
	s.set(value)
	return s
}

func (s *secret) set(value string) { s.setDigest(sha256.Sum256([]byte(value))) }

func (s *secret) setDigest(d [sha256.Size]byte) { s.digest.Store(&d) }

// matches compares digests, so neither the length nor the content of the secret leaks
// through timing.
func (s *secret) matches(candidate string) bool {
	d := sha256.Sum256([]byte(candidate))
	return subtle.ConstantTimeCompare(d[:], s.digest.Load()[:]) == 1
}
