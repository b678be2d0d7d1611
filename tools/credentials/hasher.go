package credentials

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/crypto/argon2"
)

// params are OWASP's recommended argon2id settings (19 MiB, 2 passes, 1 lane). They are
// written into every hash, so they can be raised later without invalidating old hashes.
type params struct {
	memoryKiB uint32
	time      uint32
	threads   uint8
	keyLen    uint32
}

var defaultArgon2 = params{memoryKiB: 19 * 1024, time: 2, threads: 1, keyLen: 32}

// Hasher hashes and verifies passwords with argon2id. Each hash holds 19 MiB for tens
// of milliseconds, so the number running at once is bounded: a burst of logins queues rather
// than exhausting memory.
type Hasher struct {
	params params
	slots  chan struct{}
	dummy  string
}

// NewHasher allows two hashes per CPU at once. It computes no hash: every backend of the
// local runtime has a Hasher, and one argon2 pass leaves 19 MiB of garbage behind.
func NewHasher() *Hasher {
	h := &Hasher{params: defaultArgon2, slots: make(chan struct{}, 2*runtime.GOMAXPROCS(0))}
	h.dummy = h.format(make([]byte, 16), make([]byte, h.params.keyLen))
	return h
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.slots }

func (h *Hasher) encode(salt []byte, password string) string {
	p := h.params
	return h.format(salt, argon2.IDKey([]byte(password), salt, p.time, p.memoryKiB, p.threads, p.keyLen))
}

// format writes a hash in PHC format. The dummy hash that unknown accounts are verified against
// is one with a key of zeros, which no password derives in practice (and Verify makes sure the
// password it checks against it is never a real one): verifying costs the same whatever the key.
func (h *Hasher) format(salt, key []byte) string {
	p := h.params
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.memoryKiB, p.time, p.threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// Hash returns a PHC-format argon2id hash of password with a fresh random salt.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	return h.encode(salt, password), nil
}

// NewAccount does what every sign-up does before storing an account: it checks the email
// (returned normalized) and the password against the rules, then hashes the password.
func (h *Hasher) NewAccount(ctx context.Context, email, password string) (normalized, hash string, err error) {
	if normalized, err = NormalizeEmail(email); err != nil {
		return "", "", err
	}
	if err = CheckPassword(password); err != nil {
		return "", "", err
	}
	if hash, err = h.Hash(ctx, password); err != nil {
		return "", "", err
	}
	return normalized, hash, nil
}

// Verify reports whether password matches encoded. An empty encoded (no such user) is checked
// against a dummy hash so that unknown accounts take as long as known ones.
func (h *Hasher) Verify(ctx context.Context, encoded, password string) (bool, error) {
	if encoded == "" {
		encoded = h.dummy
		password += "\x00never"
	}
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errors.New("verify password: unknown hash format")
	}
	var version int
	var p params
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errors.New("verify password: unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.memoryKiB, &p.time, &p.threads); err != nil {
		return false, fmt.Errorf("verify password: %w", err)
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, fmt.Errorf("verify password: %w", err)
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil {
		return false, fmt.Errorf("verify password: %w", err)
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	got := argon2.IDKey([]byte(password), salt, p.time, p.memoryKiB, p.threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
