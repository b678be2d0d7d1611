package backuparchive

import (
	"bytes"
	"fmt"
	"io"
	"testing"
)

// BenchmarkWriteVerify streams an archive of about 50 MB (40 files of 1 MiB added with a known
// size, and 10 MiB of JSON lines through Create, spooled to disk) from a Writer straight into
// Verify through a pipe, as a backup taken and checked on the fly would.
func BenchmarkWriteVerify(b *testing.B) {
	file := randomBytes(7, 1<<20)
	line := append(bytes.Repeat([]byte(`{"make":"VW","year":1974,"notes":"x"}`), 3), '\n')
	const files, jsonBytes = 40, 10 << 20
	spool := b.TempDir()
	b.SetBytes(files*int64(len(file)) + jsonBytes/int64(len(line))*int64(len(line)))
	for b.Loop() {
		pr, pw := io.Pipe()
		go func() {
			pw.CloseWithError(writeBench(pw, spool, file, line, files, jsonBytes))
		}()
		m, err := Verify(pr, Limits{})
		if err != nil {
			b.Fatal(err)
		}
		if len(m.Entries) != files+1 {
			b.Fatalf("%d entries", len(m.Entries))
		}
	}
}

// writeBench writes the benchmark's archive to w.
func writeBench(w io.Writer, spool string, file, line []byte, files, jsonBytes int) error {
	aw := NewWriter(w, map[string]string{"backend": "bench"}, Options{SpoolDir: spool})
	for i := range files {
		if err := aw.Add(fmt.Sprintf("files/%03d.bin", i), int64(len(file)), bytes.NewReader(file)); err != nil {
			return err
		}
	}
	ew, err := aw.Create("documents/cars.jsonl")
	if err != nil {
		return err
	}
	for range jsonBytes / len(line) {
		if _, err := ew.Write(line); err != nil {
			return err
		}
	}
	if err := ew.Close(); err != nil {
		return err
	}
	aw.Count("files", files)
	return aw.Close()
}
