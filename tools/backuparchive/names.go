package backuparchive

import (
	"cmp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	// ManifestName is the name of the last entry, the manifest; no other entry may use it, even
	// as a directory.
	ManifestName = "manifest.json"

	maxNameBytes    = 1024 // longest entry name
	maxElementBytes = 255  // longest path element most file systems can store
)

// checkName refuses a name that is not a safe relative slash path (see the package
// documentation). It does not look at other entries; nameSet does.
func checkName(name string) error {
	switch {
	case name == "":
		return refuse("", "an entry has an empty name")
	case len(name) > maxNameBytes:
		return refuse(strings.ToValidUTF8(name[:64], "")+"…", "the name is longer than %d bytes", maxNameBytes)
	case !utf8.ValidString(name):
		return refuse(strings.ToValidUTF8(name, "\uFFFD"), "the name is not valid UTF-8")
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return refuse(name, "the name holds a control character")
	case strings.Contains(name, `\`):
		return refuse(name, "the name holds a backslash")
	case strings.HasPrefix(name, "/"):
		return refuse(name, "the name is an absolute path")
	}
	for elem := range strings.SplitSeq(name, "/") {
		switch {
		case elem == "":
			return refuse(name, "the name has an empty path element")
		case elem == "." || elem == "..":
			return refuse(name, "the name has a %q path element", elem)
		case len(elem) > maxElementBytes:
			return refuse(name, "the name has a path element longer than %d bytes", maxElementBytes)
		}
	}
	return nil
}

// reserved refuses the manifest's name, and names under it, for any other entry.
func reserved(name string) error {
	if name == ManifestName || strings.HasPrefix(name, ManifestName+"/") {
		return refuse(name, "the name is reserved for the manifest")
	}
	return nil
}

// checkClashes refuses entries whose names repeat, or where one entry is the directory of
// another, from the whole list at once: sorting the names element by element puts "a/..."
// right after "a", so comparing neighbours is enough, and the memory is only the list's.
// (nameSet checks the same one name at a time, which a writer needs, but keeps every directory
// of every name, which an untrusted archive of deep names could inflate.)
func checkClashes(entries []Entry) error {
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name
	}
	slices.SortFunc(names, compareElements)
	for i := 1; i < len(names); i++ {
		prev, name := names[i-1], names[i]
		switch {
		case name == prev:
			return refuse(name, "the name appears twice")
		case strings.HasPrefix(name, prev+"/"):
			return refuse(name, "the name is inside %q, which is an entry", prev)
		}
	}
	return nil
}

// compareElements orders names as if "/" came before every other byte, that is by path
// element; no name holds a NUL, so mapping "/" to it is unambiguous.
func compareElements(a, b string) int {
	for i := range min(len(a), len(b)) {
		x, y := a[i], b[i]
		if x == '/' {
			x = 0
		}
		if y == '/' {
			y = 0
		}
		if x != y {
			return cmp.Compare(x, y)
		}
	}
	return cmp.Compare(len(a), len(b))
}

// nameSet remembers the entries seen so far and refuses a name that repeats one, or that is a
// file where another entry needs a directory or the other way round.
type nameSet struct {
	files map[string]bool
	dirs  map[string]bool
}

func newNameSet() *nameSet {
	return &nameSet{files: map[string]bool{}, dirs: map[string]bool{}}
}

// add checks a name that passed checkName, other than the manifest's, and records it.
func (s *nameSet) add(name string) error {
	if err := reserved(name); err != nil {
		return err
	}
	if s.files[name] {
		return refuse(name, "the name appears twice")
	}
	if s.dirs[name] {
		return refuse(name, "the name is also the directory of another entry")
	}
	for i := range len(name) {
		if name[i] == '/' && s.files[name[:i]] {
			return refuse(name, "the name is inside %q, which is an entry", name[:i])
		}
	}
	s.files[name] = true
	for i := range len(name) {
		if name[i] == '/' {
			s.dirs[name[:i]] = true
		}
	}
	return nil
}
