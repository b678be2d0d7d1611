//go:build unix

package ferretimport

import (
	"fmt"
	"os"
	"syscall"
)

// lockDir takes an exclusive lock on dir, waiting for another process that holds it (two
// starts on one data directory must not both write the same new files); the system releases
// it if the process dies. unlock releases it.
func lockDir(dir string) (unlock func(), err error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return func() { _ = f.Close() }, nil
}
