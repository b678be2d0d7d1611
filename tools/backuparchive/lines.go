package backuparchive

import (
	"bufio"
	"errors"
	"io"
)

// Lines calls fn with each line of r without its newline, for entries of JSON lines (one
// document per line, as json.Encoder writes them to an entry from Create). A line longer than
// maxLine bytes is refused with an *Error naming entry, so an untrusted archive cannot make the
// caller hold an unbounded line; errors from r (an entry's checksum, say) and from fn come back
// as they are. The slice passed to fn is reused once fn returns. The last line needs no newline.
func Lines(r io.Reader, entry string, maxLine int, fn func(line []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, min(maxLine+1, 64*kib)), maxLine+1) // +1: the newline
	for sc.Scan() {
		if len(sc.Bytes()) > maxLine {
			return refuse(entry, "a line is longer than %d bytes", maxLine)
		}
		if err := fn(sc.Bytes()); err != nil {
			return err
		}
	}
	if errors.Is(sc.Err(), bufio.ErrTooLong) {
		return refuse(entry, "a line is longer than %d bytes", maxLine)
	}
	return sc.Err()
}
