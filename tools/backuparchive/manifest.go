package backuparchive

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

const (
	// Format is the manifest's "format" value, telling a backup archive from any other tar.
	Format = "backpack-backup"
	// Version is the manifest's "version" this package writes and the only one it reads.
	Version = 1

	manifestBaseBytes     = 1 * mib // the manifest without its entries: source, counts, framing
	manifestPerEntryBytes = 256     // one entry's framing, size and checksum, besides its name
)

// Manifest describes an archive: what wrote it, when, how many of each kind of thing it holds
// (for people and for checks after a restore), and every entry with its checksum.
type Manifest struct {
	Format    string            `json:"format"`
	Version   int               `json:"version"`
	CreatedAt time.Time         `json:"createdAt"`
	Source    map[string]string `json:"source"`
	Counts    map[string]int    `json:"counts"`
	Entries   []Entry           `json:"entries"`
}

// Entry is one file of the archive as the manifest lists it.
type Entry struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // lowercase hex
}

// maxManifestBytes bounds the manifest of an archive whose other entries are these, so that
// Verify can read it into memory and Writer never writes one Verify would refuse. Names are
// counted twice because JSON may escape some of their characters.
func maxManifestBytes(entries []Entry) int64 {
	n := int64(manifestBaseBytes)
	for _, e := range entries {
		n += manifestPerEntryBytes + 2*int64(len(e.Name))
	}
	return n
}

// encodeManifest writes m as indented JSON without HTML escaping, so names read as they are.
func encodeManifest(m Manifest) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("encoding the manifest: %w", err)
	}
	return buf.Bytes(), nil
}

// decodeManifest parses the manifest strictly and checks it against the entries the archive
// actually holds, in order.
func decodeManifest(data []byte, seen []Entry) (Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, refuse(ManifestName, "the manifest is not valid: %v", err)
	}
	if dec.More() {
		return Manifest{}, refuse(ManifestName, "the manifest has data after its JSON object")
	}
	switch {
	case m.Format != Format:
		return Manifest{}, refuse(ManifestName, "the format is %q, not %q", m.Format, Format)
	case m.Version != Version:
		return Manifest{}, refuse(ManifestName, "the format version is %d; this server reads version %d", m.Version, Version)
	case m.CreatedAt.IsZero():
		return Manifest{}, refuse(ManifestName, "the manifest has no createdAt")
	}
	for kind, n := range m.Counts {
		if n < 0 {
			return Manifest{}, refuse(ManifestName, "the count of %q is negative", kind)
		}
	}
	if m.Source == nil {
		m.Source = map[string]string{}
	}
	if m.Counts == nil {
		m.Counts = map[string]int{}
	}
	if err := matchEntries(m.Entries, seen); err != nil {
		return Manifest{}, err
	}
	m.Entries = append([]Entry{}, seen...) // equal to m.Entries; never nil, like the writer's
	return m, nil
}

// matchEntries checks that the manifest lists exactly the entries the archive holds, in the
// same order, with the same sizes and checksums.
func matchEntries(listed, seen []Entry) error {
	index := make(map[string]int, len(listed))
	for i, e := range listed {
		if _, dup := index[e.Name]; dup {
			return refuse(e.Name, "the manifest lists the entry twice")
		}
		index[e.Name] = i
	}
	for _, e := range seen {
		if _, ok := index[e.Name]; !ok {
			return refuse(e.Name, "the entry is not listed in the manifest")
		}
	}
	if len(listed) != len(seen) {
		present := make(map[string]bool, len(seen))
		for _, e := range seen {
			present[e.Name] = true
		}
		for _, e := range listed {
			if !present[e.Name] {
				return refuse(e.Name, "the manifest lists an entry the archive lacks")
			}
		}
	}
	for i, e := range seen {
		want := listed[i]
		switch {
		case want.Name != e.Name:
			return refuse(e.Name, "the entry is not where the manifest lists it")
		case want.Size != e.Size:
			return refuse(e.Name, "the entry holds %d bytes; the manifest says %d", e.Size, want.Size)
		case !isSHA256Hex(want.SHA256):
			return refuse(e.Name, "the manifest's sha256 is not 64 lowercase hex digits")
		case want.SHA256 != e.SHA256:
			return refuse(e.Name, "the entry's sha256 does not match the manifest")
		}
	}
	return nil
}

// isSHA256Hex reports whether s is a SHA-256 digest as the manifest writes it.
func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// sumHex is the manifest's spelling of a digest.
func sumHex(sum []byte) string { return hex.EncodeToString(sum) }
