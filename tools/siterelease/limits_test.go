package siterelease

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"crypto/rand"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"strings"
	"testing"
)

func TestLimitsDefaults(t *testing.T) {
	got := Limits{MaxFiles: 7}.withDefaults()
	want := Limits{MaxArchiveBytes: 100 << 20, MaxTotalBytes: 500 << 20, MaxFiles: 7, MaxFileBytes: 100 << 20}
	if got != want {
		t.Errorf("withDefaults = %+v, want %+v", got, want)
	}
}

func TestMaxArchiveBytes(t *testing.T) {
	noise := make([]byte, 4096)
	_, _ = rand.Read(noise) // incompressible, so the archive really is larger than 1 KiB
	s, dir := newStore(t, Limits{MaxArchiveBytes: 1024})
	assertRefused(t, s, dir, buildZip(t, siteFiles("index.html", string(noise))...), "the archive is larger than the limit of 1 KiB")
	mustInstall(t, s, buildZip(t, siteFiles("index.html", "small")...))
}

func TestMaxFiles(t *testing.T) {
	s, dir := newStore(t, Limits{MaxFiles: 3})
	assertRefused(t, s, dir, buildZip(t, siteFiles("a", "1", "b", "2", "c", "3", "d", "4")...), "more than 3 files")
	assertRefused(t, s, dir, buildZip(t, append(siteFiles("a", "1", "b", "2", "c", "3"), member{name: "d/"})...), "more than 3 files")
	mustInstall(t, s, buildZip(t, siteFiles("a", "1", "b", "2", "c", "3")...))
}

func TestMaxFileBytes(t *testing.T) {
	s, dir := newStore(t, Limits{MaxFileBytes: 1000})
	assertRefused(t, s, dir, buildZip(t, siteFiles("big.bin", strings.Repeat("x", 1001))...), `file "big.bin" is larger than the limit of 1000 bytes`)
	mustInstall(t, s, buildZip(t, siteFiles("big.bin", strings.Repeat("x", 1000))...))
}

// TestHighRatioArchive checks that compression ratio alone is no reason to refuse: an honest
// archive that inflates a thousandfold is fine within MaxTotalBytes and refused beyond it.
func TestHighRatioArchive(t *testing.T) {
	zeros := strings.Repeat("\x00", 8<<20)
	archive := buildZip(t, siteFiles("index.html", "hi", "zeros.bin", zeros)...)
	if len(archive) > 64<<10 {
		t.Fatalf("archive is %d bytes; the test wants a high ratio", len(archive))
	}

	s, _ := newStore(t, Limits{MaxTotalBytes: 16 << 20})
	if rel := mustInstall(t, s, archive); rel.Bytes != 8<<20+2 || rel.Files != 2 {
		t.Errorf("release = %+v", rel)
	}

	s, dir := newStore(t, Limits{MaxTotalBytes: 8 << 20})
	assertRefused(t, s, dir, archive, "the files add up to more than the limit of 8 MiB")
}

func TestMaxTotalBytesAcrossFiles(t *testing.T) {
	s, dir := newStore(t, Limits{MaxTotalBytes: 1000, MaxFileBytes: 600})
	half := strings.Repeat("x", 501)
	assertRefused(t, s, dir, buildZip(t, siteFiles("a", half, "b", half)...), "add up to more than the limit of 1000 bytes")
}

// TestLyingSizes feeds zip bombs whose headers declare far less than their data inflates to.
// Either the length check or the checksum must stop them, leaving nothing behind.
func TestLyingSizes(t *testing.T) {
	bomb := deflate(t, make([]byte, 1<<20))
	cases := []struct {
		name     string
		declared uint64
		crc      uint32
	}{
		{"checksum of the declared prefix", 10, crc32.ChecksumIEEE(make([]byte, 10))},
		{"checksum of the real data", 10, crc32.ChecksumIEEE(make([]byte, 1<<20))},
		{"declared empty", 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, dir := newStore(t, Limits{MaxTotalBytes: 1 << 10})
			mustInstall(t, s, buildZip(t, siteFiles("index.html", "live")...))
			fh := &zip.FileHeader{
				Name:               "bomb.bin",
				Method:             zip.Deflate,
				CompressedSize64:   uint64(len(bomb)),
				UncompressedSize64: tc.declared,
				CRC32:              tc.crc,
			}
			assertRefused(t, s, dir, rawZip(t, fh, bomb), `file "bomb.bin"`)
			if got := readCurrent(t, dir, "index.html"); got != "live" {
				t.Errorf("live index.html = %q", got)
			}
		})
	}
}

// deflate compresses data the way a zip entry stores it.
func deflate(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{
		100 << 20: "100 MiB",
		2048:      "2 KiB",
		1000:      "1000 bytes",
		1<<20 + 1: fmt.Sprint(1<<20+1) + " bytes",
	} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// cutShort is an upload whose sender stops before the length it announced.
type cutShort struct{ data []byte }

func (c *cutShort) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.ErrUnexpectedEOF
	}
	n := copy(p, c.data)
	c.data = c.data[n:]
	return n, nil
}

func TestUploadCutShort(t *testing.T) {
	s, dir := newStore(t, Limits{})
	before := snapshot(t, dir)
	full := buildZip(t, siteFiles("index.html", "hello")...)
	_, err := s.Install(&cutShort{data: full[:len(full)/2]})
	var refused *Error
	if !errors.As(err, &refused) || !strings.Contains(refused.Msg, "cut short") || refused.TooLarge {
		t.Fatalf("Install of a cut-short upload = %v; want a refusal saying so", err)
	}
	if after := snapshot(t, dir); !slices.Equal(before, after) {
		t.Errorf("site directory changed:\nbefore %q\nafter  %q", before, after)
	}
}
