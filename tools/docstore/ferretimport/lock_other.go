//go:build !unix

package ferretimport

// lockDir does nothing where there is no flock: the previous version, whose data this
// migrates, served its database on a Unix socket and ran on Unix systems only.
func lockDir(string) (unlock func(), err error) { return func() {}, nil }
