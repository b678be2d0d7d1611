package backuparchive

import (
	"fmt"
	"strconv"
)

const (
	kib = 1 << 10
	mib = 1 << 20
	gib = 1 << 30
)

// Limits bound what an archive may hold, so an untrusted upload cannot exhaust memory or disk
// before it is refused; zero or negative fields take the defaults. The manifest is not counted:
// its own bound follows from the entries (see the package documentation).
type Limits struct {
	MaxEntries    int   // entries besides the manifest, default 1 000 000
	MaxEntryBytes int64 // one entry, default 1 GiB
	MaxTotalBytes int64 // all entries together, default 16 GiB
}

// withDefaults fills the unset fields.
func (l Limits) withDefaults() Limits {
	if l.MaxEntries <= 0 {
		l.MaxEntries = 1_000_000
	}
	if l.MaxEntryBytes <= 0 {
		l.MaxEntryBytes = 1 * gib
	}
	if l.MaxTotalBytes <= 0 {
		l.MaxTotalBytes = 16 * gib
	}
	return l
}

// Error is a refused archive (or, from Writer, a refused entry). Reason says why in plain words
// fit for an API answer; Entry names the entry at fault, empty when the fault is the archive's.
type Error struct {
	Reason string
	Entry  string
	// OverLimit is set when the refusal is a size limit (an entry, or all of them): a caller
	// may answer it as too large rather than as malformed.
	OverLimit bool
}

func (e *Error) Error() string {
	if e.Entry == "" {
		return "backup archive: " + e.Reason
	}
	return "backup archive: entry " + strconv.Quote(e.Entry) + ": " + e.Reason
}

// refuse builds an *Error about one entry (or the whole archive when entry is empty).
func refuse(entry, format string, args ...any) *Error {
	return &Error{Entry: entry, Reason: fmt.Sprintf(format, args...)}
}

// formatBytes writes a size the way a person reads it in an error message.
func formatBytes(n int64) string {
	switch {
	case n >= gib && n%gib == 0:
		return fmt.Sprintf("%d GiB", n/gib)
	case n >= mib && n%mib == 0:
		return fmt.Sprintf("%d MiB", n/mib)
	case n >= kib && n%kib == 0:
		return fmt.Sprintf("%d KiB", n/kib)
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}
