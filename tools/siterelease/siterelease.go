// Package siterelease installs a backend's static site, uploaded as a zip, into a directory that
// nginx serves through the symlink SITE_DIR/current. Each upload becomes a new release directory;
// switching between releases is a single atomic rename, so visitors never see a half-written site,
// and the last few releases are kept so an operator can roll back. It knows nothing of HTTP.
package siterelease

import (
	"fmt"
	"time"
)

// Keep is how many of the newest releases survive pruning, so a few rollbacks are always possible
// without the directory growing forever.
const Keep = 5

const (
	kib = 1 << 10
	mib = 1 << 20
)

// Limits bound what an archive may hold, so one upload cannot fill the disk or exhaust inodes;
// zero or negative fields take the defaults.
type Limits struct {
	MaxArchiveBytes int64 // size of the zip itself, default 100 MiB
	MaxTotalBytes   int64 // sum of uncompressed file sizes, default 500 MiB
	MaxFiles        int   // files and directories in the archive, default 10 000
	MaxFileBytes    int64 // one file uncompressed, default 100 MiB
}

// withDefaults fills the unset fields.
func (l Limits) withDefaults() Limits {
	if l.MaxArchiveBytes <= 0 {
		l.MaxArchiveBytes = 100 * mib
	}
	if l.MaxTotalBytes <= 0 {
		l.MaxTotalBytes = 500 * mib
	}
	if l.MaxFiles <= 0 {
		l.MaxFiles = 10_000
	}
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = 100 * mib
	}
	return l
}

// Error is a refused archive or request; Msg says why in plain words fit for an API response, so
// callers can tell the user's mistake apart from a server fault.
type Error struct {
	Msg string
	// TooLarge is set when the archive itself is over MaxArchiveBytes, which an HTTP caller
	// answers with 413 rather than 400.
	TooLarge bool
}

func (e *Error) Error() string { return e.Msg }

// refuse builds an *Error from a format string.
func refuse(format string, args ...any) *Error {
	return &Error{Msg: fmt.Sprintf(format, args...)}
}

// Release describes one installed release, as List and Current report it.
type Release struct {
	ID        string    `json:"id"` // UTC time "20060102T150405.000Z" + "-" + 6 random hex; sorts by age
	CreatedAt time.Time `json:"createdAt"`
	Files     int       `json:"files"`
	Bytes     int64     `json:"bytes"`
	Current   bool      `json:"current"`
}

// formatBytes writes a size the way a person reads it in an error message.
func formatBytes(n int64) string {
	switch {
	case n >= mib && n%mib == 0:
		return fmt.Sprintf("%d MiB", n/mib)
	case n >= kib && n%kib == 0:
		return fmt.Sprintf("%d KiB", n/kib)
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}
