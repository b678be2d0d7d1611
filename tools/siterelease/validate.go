package siterelease

import (
	"archive/zip"
	"io/fs"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	maxNameBytes    = 1000 // longest entry name accepted: a backup stores it under "site/" in a name of at most 1024
	maxElementBytes = 255  // longest path element most file systems can store
	flagEncrypted   = 0x1  // general purpose bit 0 of a zip entry
)

// entry is one archive member that passed validation, under the name it will have on disk.
type entry struct {
	file *zip.File
	name string // cleaned, relative, slash-separated
	dir  bool
}

// planExtraction checks every entry of the archive before anything is written and returns what
// to extract. Everything a hostile or broken archive could do to escape the release directory or
// exhaust the disk is refused here; extraction re-checks only what the headers can lie about.
func planExtraction(files []*zip.File, lim Limits) ([]entry, error) {
	if len(files) > lim.MaxFiles {
		return nil, refuse("the archive holds more than %d files and directories", lim.MaxFiles)
	}
	var entries []entry
	var fileCount int
	var total uint64
	for _, f := range files {
		e, err := checkEntry(f)
		if err != nil {
			return nil, err
		}
		if e.name == "." {
			continue // the archive's own root directory
		}
		entries = append(entries, e)
		if e.dir {
			continue
		}
		fileCount++
		if f.UncompressedSize64 > uint64(lim.MaxFileBytes) {
			return nil, refuse("file %q is larger than the limit of %s", f.Name, formatBytes(lim.MaxFileBytes))
		}
		total += f.UncompressedSize64
		if total > uint64(lim.MaxTotalBytes) {
			return nil, refuse("the files add up to more than the limit of %s", formatBytes(lim.MaxTotalBytes))
		}
	}
	if fileCount == 0 {
		return nil, refuse("the archive holds no files")
	}
	if err := checkConflicts(entries); err != nil {
		return nil, err
	}
	return stripTopDir(entries), nil
}

// checkEntry refuses entries that are not plain files or directories with a safe name.
func checkEntry(f *zip.File) (entry, error) {
	name, err := cleanName(f.Name)
	if err != nil {
		return entry{}, err
	}
	mode := f.Mode()
	switch {
	case mode&fs.ModeSymlink != 0:
		return entry{}, refuse("entry %q is a symbolic link", f.Name)
	case mode.Type()&^fs.ModeDir != 0:
		return entry{}, refuse("entry %q is not a regular file or directory", f.Name)
	case f.Flags&flagEncrypted != 0:
		return entry{}, refuse("entry %q is encrypted", f.Name)
	case f.Method != zip.Store && f.Method != zip.Deflate:
		return entry{}, refuse("entry %q uses an unsupported compression method", f.Name)
	case mode.IsDir() && f.UncompressedSize64 != 0:
		return entry{}, refuse("directory entry %q holds data", f.Name)
	}
	if name == "." && !mode.IsDir() {
		return entry{}, refuse("entry %q does not name a file", f.Name)
	}
	return entry{file: f, name: name, dir: mode.IsDir()}, nil
}

// cleanName checks an entry name and returns it cleaned. Names must be relative slash paths
// that never climb out of the release directory and that every file system can store.
func cleanName(name string) (string, error) {
	switch {
	case name == "":
		return "", refuse("an entry has an empty name")
	case len(name) > maxNameBytes:
		return "", refuse("an entry name is longer than %d bytes", maxNameBytes)
	case !utf8.ValidString(name):
		return "", refuse("entry %q has a name that is not valid UTF-8", name)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "", refuse("entry %q has a control character in its name", name)
	case strings.Contains(name, `\`):
		return "", refuse("entry %q contains a backslash", name)
	case strings.HasPrefix(name, "/"):
		return "", refuse("entry %q is an absolute path", name)
	case hasDriveLetter(name):
		return "", refuse("entry %q starts with a drive letter", name)
	}
	for _, elem := range strings.Split(name, "/") {
		if elem == ".." {
			return "", refuse("entry %q leaves the site directory", name)
		}
		if len(elem) > maxElementBytes {
			return "", refuse("entry %q has a path element longer than %d bytes", name, maxElementBytes)
		}
	}
	return path.Clean(name), nil
}

// hasDriveLetter reports a Windows drive prefix such as "C:".
func hasDriveLetter(name string) bool {
	if len(name) < 2 || name[1] != ':' {
		return false
	}
	c := name[0] | 0x20 // lower-case an ASCII letter
	return c >= 'a' && c <= 'z'
}

// checkConflicts refuses two entries with the same cleaned name, and a file that another entry
// uses as a directory: extracting either would silently drop or overwrite content.
func checkConflicts(entries []entry) error {
	isDir := make(map[string]bool, len(entries))
	for _, e := range entries {
		if dir, seen := isDir[e.name]; seen {
			if dir != e.dir {
				return refuse("%q is both a file and a directory in the archive", e.name)
			}
			return refuse("%q appears twice in the archive", e.name)
		}
		isDir[e.name] = e.dir
	}
	for _, e := range entries {
		for parent := path.Dir(e.name); parent != "."; parent = path.Dir(parent) {
			if dir, seen := isDir[parent]; seen && !dir {
				return refuse("%q is both a file and a directory in the archive", parent)
			}
		}
	}
	return nil
}

// stripTopDir removes a single top-level directory that holds everything, because people
// usually zip their build folder ("dist/index.html") rather than its contents.
func stripTopDir(entries []entry) []entry {
	top := ""
	for _, e := range entries {
		first, _, nested := strings.Cut(e.name, "/")
		if !nested && !e.dir {
			return entries // a file at the root: the archive is the site itself
		}
		if top != "" && first != top {
			return entries
		}
		top = first
	}
	stripped := make([]entry, 0, len(entries))
	for _, e := range entries {
		if _, rest, nested := strings.Cut(e.name, "/"); nested {
			e.name = rest
			stripped = append(stripped, e)
		}
	}
	return stripped
}
